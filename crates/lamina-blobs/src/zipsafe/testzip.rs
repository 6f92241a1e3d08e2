//! Builders for well-formed and deliberately malformed zips used by the tests.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// One entry for [`build`]: file contents and unix mode, a directory, or a symlink target.
pub(super) enum E<'a> {
    File(&'a [u8], u32),
    Dir,
    Link(&'a str),
}

pub(super) fn build(entries: &[(&str, E<'_>)]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let base = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, entry) in entries {
        match entry {
            E::File(data, mode) => {
                writer
                    .start_file(*name, base.unix_permissions(*mode))
                    .unwrap();
                writer.write_all(data).unwrap();
            }
            E::Dir => writer.add_directory(*name, base).unwrap(),
            E::Link(target) => writer.add_symlink(*name, *target, base).unwrap(),
        }
    }
    writer.finish().unwrap().into_inner()
}

/// One deflated entry of `len` zeros, compressed by the zip writer.
pub(super) fn zeros_zip(len: usize) -> Vec<u8> {
    build(&[("zeros.bin", E::File(&vec![0u8; len], 0o644))])
}

/// A raw deflate stream of `len` (> 0) zeros, built directly with fixed Huffman codes (one
/// literal zero, then 258-byte copies at distance 1), so the test does not have to compress
/// hundreds of megabytes.
pub(super) fn deflated_zeros(len: usize) -> Vec<u8> {
    #[derive(Default)]
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        count: u32,
    }
    impl Bits {
        /// Appends `count` bits of `value`, least significant first (header fields).
        fn put(&mut self, value: u64, count: u32) {
            self.acc |= value << self.count;
            self.count += count;
            while self.count >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.count -= 8;
            }
        }
        /// Appends a Huffman code, most significant bit first.
        fn code(&mut self, code: u64, count: u32) {
            self.put(code.reverse_bits() >> (64 - count), count);
        }
    }
    const LITERAL_ZERO: u64 = 0b0011_0000; // literal 0: 8-bit code 0x30
    const LENGTH_258: u64 = 0b1100_0101; // length code 285: 8 bits
    let mut bits = Bits::default();
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = fixed Huffman
    bits.code(LITERAL_ZERO, 8);
    let mut remaining = len - 1;
    while remaining >= 258 {
        bits.code(LENGTH_258, 8);
        bits.code(0, 5); // distance code 0 = distance 1
        remaining -= 258;
    }
    for _ in 0..remaining {
        bits.code(LITERAL_ZERO, 8);
    }
    bits.code(0, 7); // end of block (code 256)
    bits.put(0, 7); // flush the last partial byte
    bits.out
}

/// A zip bomb: one deflated entry that inflates to `len` zeros. The CRC is left wrong, since
/// the point is that nobody gets that far.
pub(super) fn bomb(len: usize) -> Vec<u8> {
    let deflated = deflated_zeros(len);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    writer.start_file("zeros.bin", stored).unwrap();
    writer.write_all(&deflated).unwrap();
    let mut zip = writer.finish().unwrap().into_inner();
    // Turn the stored entry into a deflated one: method (u16) at offset 8 / 10, uncompressed
    // size at 22 / 24 in the local / central header; the data sits right after the name.
    let (lh, cd) = header_offsets(&zip);
    zip[lh + 8..lh + 10].copy_from_slice(&8u16.to_le_bytes());
    zip[cd + 10..cd + 12].copy_from_slice(&8u16.to_le_bytes());
    patch(&mut zip, 22, 24, u32::try_from(len).unwrap());
    let data = lh + 30 + "zeros.bin".len();
    assert_eq!(&zip[data..data + deflated.len()], &deflated[..]);
    zip
}

/// Finds the single local header and central directory header of a one-entry zip.
pub(super) fn header_offsets(zip: &[u8]) -> (usize, usize) {
    let find = |sig: &[u8]| zip.windows(4).position(|w| w == sig).unwrap();
    (find(b"PK\x03\x04"), find(b"PK\x01\x02"))
}

/// Overwrites a little-endian u32 in both headers (`local` and `central` field offsets).
pub(super) fn patch(zip: &mut [u8], local: usize, central: usize, value: u32) {
    let (lh, cd) = header_offsets(zip);
    zip[lh + local..lh + local + 4].copy_from_slice(&value.to_le_bytes());
    zip[cd + central..cd + central + 4].copy_from_slice(&value.to_le_bytes());
}
