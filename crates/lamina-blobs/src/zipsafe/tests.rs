use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::testzip::{E, bomb, build, deflated_zeros, header_offsets, patch, zeros_zip};
use super::*;

const MB: u64 = 1024 * 1024;

fn unsafe_name(result: Result<ZipSummary, ZipError>) -> String {
    match result {
        Err(ZipError::UnsafeEntry { name }) => name,
        other => panic!("expected UnsafeEntry, got {other:?}"),
    }
}

fn normal_zip() -> Vec<u8> {
    build(&[
        (
            "index.js",
            E::File(b"exports.handler = async () => 1;", 0o644),
        ),
        (
            "bootstrap",
            E::File(b"#!/bin/sh\nexec node index.js\n", 0o755),
        ),
        ("lib/", E::Dir),
        ("lib/util.js", E::File(b"module.exports = {};", 0o644)),
        ("node_modules/.bin/tool", E::Link("../tool/cli.js")),
        (
            "node_modules/tool/cli.js",
            E::File(b"console.log(1)", 0o755),
        ),
    ])
}

#[test]
fn inspects_normal_zip() {
    let summary = inspect(&normal_zip(), MB).unwrap();
    let expected_bytes = [32, 29, 20, 14, "../tool/cli.js".len()]
        .iter()
        .sum::<usize>();
    assert_eq!(
        summary,
        ZipSummary {
            unzipped_size: expected_bytes as u64,
            entries: 6
        }
    );
}

#[test]
fn extracts_normal_zip_with_modes_and_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let summary = extract(&normal_zip(), dir.path(), MB).unwrap();
    assert_eq!(summary.entries, 6);

    let root = dir.path();
    assert_eq!(
        fs::read(root.join("index.js")).unwrap(),
        b"exports.handler = async () => 1;"
    );
    let mode = |p: &str| fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("bootstrap"), 0o755);
    assert_eq!(mode("index.js"), 0o644);
    assert_eq!(mode("lib"), 0o755);
    assert_eq!(mode("node_modules/tool/cli.js"), 0o755);

    let link = root.join("node_modules/.bin/tool");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("../tool/cli.js"));
    assert_eq!(fs::read(&link).unwrap(), b"console.log(1)");
}

#[test]
fn executable_bit_is_preserved_per_class() {
    let zip = build(&[
        ("owner-only", E::File(b"x", 0o700)),
        ("plain", E::File(b"x", 0o666)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    extract(&zip, dir.path(), MB).unwrap();
    let mode = |p: &str| {
        fs::metadata(dir.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("owner-only"), 0o744);
    assert_eq!(mode("plain"), 0o644);
}

#[test]
fn rejects_path_traversal_and_absolute_names() {
    for name in [
        "../evil",
        "a/../../evil",
        "/abs",
        "/etc/cron.d/x",
        "a\\..\\..\\evil",
        "C:/evil",
    ] {
        let zip = build(&[
            ("ok.txt", E::File(b"ok", 0o644)),
            (name, E::File(b"x", 0o644)),
        ]);
        assert_eq!(unsafe_name(inspect(&zip, MB)), name);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        fs::create_dir(&dest).unwrap();
        assert_eq!(unsafe_name(extract(&zip, &dest, MB)), name);
        assert!(!dir.path().join("evil").exists());
    }
}

#[test]
fn rejects_nul_in_name() {
    let zip = build(&[("a\0b", E::File(b"x", 0o644))]);
    assert_eq!(unsafe_name(inspect(&zip, MB)), "a\0b");
}

#[test]
fn rejects_symlink_to_absolute_path() {
    let zip = build(&[("passwd", E::Link("/etc/passwd"))]);
    assert_eq!(unsafe_name(inspect(&zip, MB)), "passwd");
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(unsafe_name(extract(&zip, dir.path(), MB)), "passwd");
    assert!(fs::symlink_metadata(dir.path().join("passwd")).is_err());
}

#[test]
fn rejects_symlink_escaping_root() {
    for (name, target) in [("a", "../../x"), ("d/a", "../../x"), ("a", "..")] {
        let zip = build(&[(name, E::Link(target))]);
        assert_eq!(unsafe_name(inspect(&zip, MB)), name, "{name} -> {target}");
    }
    // Staying inside is fine, even through `..`.
    let zip = build(&[("d/e/a", E::Link("../../x"))]);
    inspect(&zip, MB).unwrap();
}

#[test]
fn rejects_symlink_escaping_through_another_symlink() {
    // `s -> .` makes `s/x/../..` resolve to the parent of the root.
    let zip = build(&[("t", E::Link("s/x/../..")), ("s", E::Link("."))]);
    assert_eq!(unsafe_name(inspect(&zip, MB)), "t");
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(unsafe_name(extract(&zip, dir.path(), MB)), "t");
    // Nothing is created for symlinks when the archive is refused.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn rejects_entries_below_symlinks_and_duplicates() {
    let zip = build(&[("l", E::Link("sub")), ("l/evil", E::File(b"x", 0o644))]);
    assert_eq!(unsafe_name(inspect(&zip, MB)), "l/evil");

    let zip = build(&[
        ("a/b", E::File(b"1", 0o644)),
        ("a//b", E::File(b"2", 0o644)),
    ]);
    assert_eq!(unsafe_name(inspect(&zip, MB)), "a//b");

    let zip = build(&[("a", E::File(b"1", 0o644)), ("a/b", E::File(b"2", 0o644))]);
    assert_eq!(unsafe_name(inspect(&zip, MB)), "a/b");
}

#[test]
fn deflated_zeros_helper_is_correct() {
    let len = 10 * 258 + 77;
    let deflated = deflated_zeros(len);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer
        .start_file("z", SimpleFileOptions::default())
        .unwrap();
    writer.write_all(&vec![0; len]).unwrap();
    let reference = writer.finish().unwrap().into_inner();
    let mut zip = bomb(len);
    // Give the hand-made entry the reference CRC so it must decompress fully and correctly.
    let (lh, cd) = header_offsets(&reference);
    let crc = u32::from_le_bytes(reference[lh + 14..lh + 18].try_into().unwrap());
    assert_eq!(
        crc,
        u32::from_le_bytes(reference[cd + 16..cd + 20].try_into().unwrap())
    );
    patch(&mut zip, 14, 16, crc);
    assert!(deflated.len() < len / 20, "{}", deflated.len());
    assert_eq!(inspect(&zip, MB).unwrap().unzipped_size, len as u64);
}

#[test]
fn zip_bomb_stops_at_limit() {
    let zip = bomb(300 * MB as usize);
    assert!(zip.len() < 2 * MB as usize, "compressed size {}", zip.len());
    assert!(matches!(
        inspect(&zip, MB),
        Err(ZipError::TooLarge { limit }) if limit == MB
    ));
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        extract(&zip, dir.path(), MB),
        Err(ZipError::TooLarge { .. })
    ));
    // No more than the limit was written.
    let written = fs::metadata(dir.path().join("zeros.bin")).unwrap().len();
    assert!(written <= MB, "{written}");
}

#[test]
fn limit_is_inclusive_and_applies_to_the_total() {
    let zip = build(&[
        ("a", E::File(&[1; 600], 0o644)),
        ("b", E::File(&[2; 400], 0o644)),
    ]);
    assert_eq!(inspect(&zip, 1000).unwrap().unzipped_size, 1000);
    assert!(matches!(
        inspect(&zip, 999),
        Err(ZipError::TooLarge { limit: 999 })
    ));
}

#[test]
fn lying_headers_are_not_trusted() {
    // Uncompressed size fields: offset 22 in the local header, 24 in the central directory.
    let mut zip = zeros_zip(4 * MB as usize);
    patch(&mut zip, 22, 24, 10);
    assert_eq!(
        ZipArchive::new(Cursor::new(&zip[..]))
            .unwrap()
            .by_index(0)
            .unwrap()
            .size(),
        10
    );
    assert!(matches!(inspect(&zip, MB), Err(ZipError::TooLarge { .. })));

    // Claiming a huge size does not get a small entry rejected either.
    let mut zip = build(&[("small", E::File(b"tiny", 0o644))]);
    patch(&mut zip, 22, 24, 3_000_000_000);
    assert_eq!(inspect(&zip, MB).unwrap().unzipped_size, 4);
}

#[test]
fn crc_mismatch_is_invalid() {
    // CRC-32 fields: offset 14 in the local header, 16 in the central directory.
    let mut zip = build(&[("file", E::File(b"some content", 0o644))]);
    patch(&mut zip, 14, 16, 0xdead_beef);
    assert!(matches!(inspect(&zip, MB), Err(ZipError::Invalid)));
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        extract(&zip, dir.path(), MB),
        Err(ZipError::Invalid)
    ));
}

#[test]
fn corrupt_compressed_data_is_invalid() {
    let mut zip = build(&[("file", E::File(&b"abcdefgh".repeat(1000), 0o644))]);
    let (lh, _) = header_offsets(&zip);
    let name_len = u16::from_le_bytes([zip[lh + 26], zip[lh + 27]]) as usize;
    let extra_len = u16::from_le_bytes([zip[lh + 28], zip[lh + 29]]) as usize;
    let data = lh + 30 + name_len + extra_len;
    for byte in &mut zip[data..data + 8] {
        *byte = 0xff;
    }
    assert!(matches!(inspect(&zip, MB), Err(ZipError::Invalid)));
}

#[test]
fn garbage_is_invalid() {
    let valid = normal_zip();
    let inputs: [&[u8]; 4] = [
        b"",
        b"definitely not a zip file",
        &[0x50, 0x4b, 0x05, 0x06],
        &valid[..valid.len() / 2],
    ];
    for input in inputs {
        assert!(
            matches!(inspect(input, MB), Err(ZipError::Invalid)),
            "{input:?}"
        );
    }
}

#[test]
fn empty_zip_is_fine() {
    let zip = build(&[]);
    assert_eq!(
        inspect(&zip, MB).unwrap(),
        ZipSummary {
            unzipped_size: 0,
            entries: 0
        }
    );
}

#[test]
fn extract_never_writes_through_existing_symlink() {
    let outside = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("pre")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("f"), dir.path().join("f")).unwrap();

    let zip = build(&[("pre/file", E::File(b"x", 0o644))]);
    assert!(matches!(
        extract(&zip, dir.path(), MB),
        Err(ZipError::Io(..))
    ));
    let zip = build(&[("f", E::File(b"x", 0o644))]);
    assert!(matches!(
        extract(&zip, dir.path(), MB),
        Err(ZipError::Io(..))
    ));
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn extract_requires_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let zip = normal_zip();
    assert!(matches!(
        extract(&zip, &dir.path().join("missing"), MB),
        Err(ZipError::Io(..))
    ));
    let file = dir.path().join("file");
    fs::write(&file, b"").unwrap();
    assert!(matches!(extract(&zip, &file, MB), Err(ZipError::Io(..))));
}
