//! Perceptual hash, so the server can notice the same photo on another person's
//! application (issue 4, item 5).

use crate::raster::Gray;

/// 64-bit difference hash (dHash): the picture averaged down to 9×8 cells; each bit says
/// whether a cell is brighter than its right neighbour. Re-encoding, resizing and mild
/// brightness changes keep most bits; a different photo flips about half.
pub fn dhash(plane: &Gray) -> u64 {
    let cells = plane.downscale(9, 8);
    let mut hash = 0u64;
    for y in 0..8isize {
        for x in 0..8isize {
            hash <<= 1;
            if cells.at(x, y) > cells.at(x + 1, y) {
                hash |= 1;
            }
        }
    }
    hash
}

/// Number of differing bits between two hashes. Two uploads of the same photo are typically
/// within 0–6; unrelated photos near 32.
pub fn hamming_distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_differing_bits() {
        assert_eq!(hamming_distance(0, 0), 0);
        assert_eq!(hamming_distance(0, u64::MAX), 64);
        assert_eq!(hamming_distance(0b1010, 0b0110), 2);
    }

    #[test]
    fn tiny_planes_hash_without_panicking() {
        let _ = dhash(&Gray::new(1, 1));
        let _ = dhash(&Gray::new(0, 0));
    }
}
