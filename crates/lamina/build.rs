//! Embeds the runtime shims (`runtimes/`) into the binary, so one file is all a host needs,
//! and builds the Java runtime jar when a JDK is present.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Shim directories copied as they are.
const SHIM_DIRS: &[&str] = &["python", "nodejs"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.join("../../runtimes");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed={}", root.display());

    let mut files = Vec::new();
    for dir in SHIM_DIRS {
        collect(&root, &root.join(dir), &mut files);
    }
    let java = root.join("java");
    if java.join("build.sh").exists() {
        collect_rerun(&java);
        let jar = out.join("lamina-java-runtime.jar");
        let built = Command::new("javac").arg("-version").output().is_ok()
            && Command::new("bash")
                .arg(java.join("build.sh"))
                .arg(&jar)
                .status()
                .is_ok_and(|s| s.success());
        if built {
            files.push(("java/lamina-java-runtime.jar".to_owned(), jar));
        } else {
            println!(
                "cargo:warning=no JDK found (or the Java runtime failed to build): java runtimes will be unavailable"
            );
        }
    }
    files.sort();
    let mut code = String::from(
        "/// The runtime shims: (path under /var/runtime, contents).\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (rel, path) in &files {
        let _ = writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    if let Err(e) = std::fs::write(out.join("runtimes.rs"), code) {
        panic!("cannot write runtimes.rs: {e}");
    }
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "__pycache__" || n == "node_modules")
            {
                continue;
            }
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            files.push((
                rel.to_string_lossy().into_owned(),
                path.canonicalize().unwrap_or(path),
            ));
        }
    }
}

fn collect_rerun(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect_rerun(&path);
        }
    }
}
