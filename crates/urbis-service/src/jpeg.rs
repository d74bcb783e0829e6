//! Removes metadata from JPEG files before they are stored: every APP1–APP15 segment (EXIF with
//! its GPS position, XMP, Photoshop IPTC, …) and comments are dropped; APP0 (JFIF), the
//! quantisation and Huffman tables, frame and scan headers and the entropy-coded data are copied
//! byte for byte, so the picture itself is untouched. A file whose segment structure does not
//! parse is refused rather than stored with its metadata.

/// Why a JPEG could not be cleaned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadJpeg;

/// Returns the JPEG without APPn (n ≥ 1) and COM segments.
pub fn strip_metadata(bytes: &[u8]) -> Result<Vec<u8>, BadJpeg> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err(BadJpeg);
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut i = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        if i >= bytes.len() || bytes[i] != 0xFF {
            return Err(BadJpeg);
        }
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let marker = *bytes.get(i).ok_or(BadJpeg)?;
        i += 1;
        match marker {
            // End of image: nothing of value follows.
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            // Standalone markers without a length.
            0x01 | 0xD0..=0xD7 => out.extend_from_slice(&[0xFF, marker]),
            _ => {
                let len_bytes = bytes.get(i..i + 2).ok_or(BadJpeg)?;
                let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
                if len < 2 || i + len > bytes.len() {
                    return Err(BadJpeg);
                }
                let segment = &bytes[i..i + len];
                let metadata = matches!(marker, 0xE1..=0xEF | 0xFE);
                if !metadata {
                    out.extend_from_slice(&[0xFF, marker]);
                    out.extend_from_slice(segment);
                }
                i += len;
                if marker == 0xDA {
                    // Start of scan: copy the entropy-coded data up to the next marker that is
                    // neither a stuffed 0xFF00 nor a restart marker.
                    let start = i;
                    while i + 1 < bytes.len() {
                        if bytes[i] == 0xFF && !matches!(bytes[i + 1], 0x00 | 0xD0..=0xD7 | 0xFF) {
                            break;
                        }
                        i += 1;
                    }
                    if i + 1 >= bytes.len() {
                        // Truncated after the scan: keep what there is and close the image.
                        out.extend_from_slice(&bytes[start..]);
                        if !out.ends_with(&[0xFF, 0xD9]) {
                            out.extend_from_slice(&[0xFF, 0xD9]);
                        }
                        return Ok(out);
                    }
                    out.extend_from_slice(&bytes[start..i]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    fn sample(with_exif: bool) -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        if with_exif {
            jpeg.extend(segment(0xE1, b"Exif\0\0GPS 39.9042N 116.4074E"));
            jpeg.extend(segment(0xFE, b"comment with a name"));
        }
        jpeg.extend(segment(0xDB, &[0u8; 65]));
        jpeg.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        jpeg.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        jpeg.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        jpeg
    }

    #[test]
    fn drops_exif_and_comments_and_keeps_the_picture() {
        let cleaned = strip_metadata(&sample(true)).unwrap();
        assert_eq!(cleaned, sample(false));
        assert!(!cleaned.windows(4).any(|w| w == b"Exif"));
        assert_eq!(strip_metadata(&sample(false)).unwrap(), sample(false));
    }

    #[test]
    fn refuses_broken_segments() {
        let mut broken = sample(true);
        broken.truncate(8);
        assert_eq!(strip_metadata(&broken), Err(BadJpeg));
        assert_eq!(strip_metadata(b"\xFF\xD8\x00\x00"), Err(BadJpeg));
    }
}
