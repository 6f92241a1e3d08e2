import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shimharness import write_tree, JAVA, JAVAC, NODE, RUNTIMES_DIR, ShimProcess, python_cmd  # noqa: E402


@pytest.fixture
def shim(tmp_path):
    """start(argv, files, handler, env=None) -> ShimProcess; all killed at teardown."""
    started = []

    def start(argv, files, handler, env=None, task_subdir="task"):
        task = tmp_path / task_subdir
        task.mkdir(exist_ok=True)
        write_tree(task, files)
        p = ShimProcess(argv, task, handler, env_extra=env)
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


@pytest.fixture
def py(shim):
    def start(files, handler, env=None):
        return shim(python_cmd(), files, handler, env)

    return start


@pytest.fixture
def node(shim):
    if not NODE:
        pytest.skip("node not installed")

    def start(files, handler, env=None):
        return shim([NODE, os.path.join(RUNTIMES_DIR, "nodejs", "bootstrap.mjs")], files, handler, env)

    return start


@pytest.fixture(scope="session")
def java_runtime_jar(tmp_path_factory):
    if not (JAVAC and JAVA):
        pytest.skip("JDK not installed")
    out = tmp_path_factory.mktemp("javart") / "lamina-java-runtime.jar"
    subprocess.run(["sh", os.path.join(RUNTIMES_DIR, "java", "build.sh"), str(out)], check=True)
    return out
