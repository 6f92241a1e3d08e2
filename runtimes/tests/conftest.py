import os
import shutil
import subprocess
import sys
import textwrap

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RUNTIMES_DIR, ShimProcess  # noqa: E402


def write_tree(root, files):
    for rel, content in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode) as f:
            f.write(content if isinstance(content, bytes) else textwrap.dedent(content).lstrip("\n"))


def python_cmd():
    return [sys.executable if os.path.basename(sys.executable).startswith("python") else "python3",
            os.path.join(RUNTIMES_DIR, "python", "bootstrap.py")]


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


NODE = shutil.which("node")


@pytest.fixture
def node(shim):
    if not NODE:
        pytest.skip("node not installed")

    def start(files, handler, env=None):
        return shim([NODE, os.path.join(RUNTIMES_DIR, "nodejs", "bootstrap.mjs")], files, handler, env)

    return start


JAVAC = shutil.which("javac")
JAVA = shutil.which("java")


@pytest.fixture(scope="session")
def java_runtime_jar(tmp_path_factory):
    if not (JAVAC and JAVA):
        pytest.skip("JDK not installed")
    out = tmp_path_factory.mktemp("javart") / "lamina-java-runtime.jar"
    subprocess.run(["sh", os.path.join(RUNTIMES_DIR, "java", "build.sh"), str(out)], check=True)
    return out


def compile_java(task_dir, runtime_jar, sources):
    """Compile user sources (dict path -> code) into task_dir (like a ZIP's classes)."""
    src_dir = os.path.join(str(task_dir), "..", "src")
    write_tree(src_dir, sources)
    files = [os.path.join(src_dir, rel) for rel in sources]
    subprocess.run(
        ["javac", "--release", "17", "-cp", str(runtime_jar), "-d", str(task_dir)] + files, check=True
    )
