//! The byte layout of a store file, without any IO: the header, the frame
//! that holds the ops of one commit, and the scan that reads a file back
//! and tells a torn tail from damage in the middle.
//!
//! ```text
//! header: magic "MQTTSLOG" | version u16 | client id length u32 | client id | CRC32 of all before u32
//! frame:  body length u32 | CRC32 of the length u32 | CRC32 of the body u32 | body
//! body:   one or more of: op length u32 | op
//! ```
//!
//! Integers are big-endian; an op is what [`StoreOp::encode`] writes.
//!
//! One commit is one frame, so a commit is whole or not at all: a write
//! that a power cut interrupts can reach the disk in any order of its
//! pages, and checking the commit as a unit is what lets the scan call
//! such a tail torn rather than damaged. (A commit of more than
//! [`MAX_FRAME`] bytes takes several frames; the store syncs each before
//! writing the next.)
//!
//! The length carries its own checksum so that a scan can test any offset
//! for the start of a frame in constant time: that makes looking for valid
//! frames after a damaged one cheap (see [`scan`]), and it makes a
//! zero-filled tail (what some file systems leave after a power cut) fail
//! at once, as the checksum of a zero length is not zero.

use super::Damage;
use mqtt_proto::store::StoreOp;

/// The first bytes of every store file.
pub(super) const MAGIC: [u8; 8] = *b"MQTTSLOG";
/// The format this code writes and reads.
pub(super) const VERSION: u16 = 1;
/// The bytes in front of a frame's body.
pub(super) const FRAME: usize = 12;
/// The longest op: a PUBLISH with the longest topic (65,535 bytes) and
/// the largest payload an MQTT packet can carry (268,435,455 bytes).
pub(super) const MAX_OP: u32 = 1 + 8 + 1 + 2 + 65_535 + 268_435_455;
/// The longest frame body; a longer length is damage. Ops are added to a
/// new frame past it, and any op fits a frame of its own.
pub(super) const MAX_FRAME: u32 = 1 << 30;
/// A frame body this long takes no more ops: the longest op and its
/// length would not fit.
const SPLIT: usize = (MAX_FRAME - MAX_OP - 4) as usize;

/// Appends the header of a store for `client_id` to `out`.
pub(super) fn encode_header(client_id: &str, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    // A client id is an MQTT string (at most 65,535 bytes), far below u32.
    let len = u32::try_from(client_id.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(client_id.as_bytes());
    let crc = crc32fast::hash(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Why the start of a file is not a header this code can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeaderError {
    /// No magic: some other file.
    NotAStore,
    /// The magic of a store, in a format version this code does not know.
    Version(u16),
    /// The magic is there but the rest is cut short or fails its checksum.
    Damaged,
}

/// The client id a header names, and where the frames start.
pub(super) fn parse_header(bytes: &[u8]) -> Result<(&[u8], usize), HeaderError> {
    let mut r = Cursor { bytes, at: 0 };
    if r.take(MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(HeaderError::NotAStore);
    }
    let version = r.u16().ok_or(HeaderError::Damaged)?;
    if version != VERSION {
        return Err(HeaderError::Version(version));
    }
    let len = r.u32().ok_or(HeaderError::Damaged)?;
    let id = usize::try_from(len)
        .ok()
        .and_then(|len| r.take(len))
        .ok_or(HeaderError::Damaged)?;
    let covered = bytes.get(..r.at).ok_or(HeaderError::Damaged)?;
    let crc = r.u32().ok_or(HeaderError::Damaged)?;
    if crc != crc32fast::hash(covered) {
        return Err(HeaderError::Damaged);
    }
    Ok((id, r.at))
}

/// Ops framed for one commit: cheap to add to, sealed (checksummed) once
/// before the write.
#[derive(Debug)]
pub(super) struct Batch {
    bytes: Vec<u8>,
    /// Where each frame starts in `bytes`; the last one is open.
    frames: Vec<usize>,
    /// A frame body this long takes no more ops.
    split: usize,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            bytes: Vec::new(),
            frames: Vec::new(),
            split: SPLIT,
        }
    }
}

impl Batch {
    /// Adds `op`, or gives back its length if that is over [`MAX_OP`] (then
    /// nothing is added).
    pub(super) fn push(&mut self, op: &StoreOp) -> Result<(), usize> {
        let start = self.bytes.len();
        let new_frame = self
            .frames
            .last()
            .is_none_or(|&frame| start - frame - FRAME >= self.split);
        if new_frame {
            self.bytes.extend_from_slice(&[0; FRAME]);
            self.frames.push(start);
        }
        let entry = self.bytes.len();
        self.bytes.extend_from_slice(&[0; 4]);
        op.encode(&mut self.bytes);
        let len = self.bytes.len() - entry - 4;
        match u32::try_from(len) {
            Ok(n) if n <= MAX_OP => {
                set(&mut self.bytes, entry, n.to_be_bytes());
                Ok(())
            }
            _ => {
                if new_frame {
                    self.frames.pop();
                }
                self.bytes.truncate(start);
                Err(len)
            }
        }
    }

    /// Whether no op was added.
    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes of every frame.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Fills in the lengths and checksums, and gives the frames to write,
    /// in order.
    pub(super) fn seal(&mut self) -> impl Iterator<Item = &[u8]> {
        let ends = self
            .frames
            .iter()
            .skip(1)
            .copied()
            .chain([self.bytes.len()]);
        let spans: Vec<(usize, usize)> = self.frames.iter().copied().zip(ends).collect();
        for &(start, end) in &spans {
            let body = self.bytes.get(start + FRAME..end).unwrap_or_default();
            // A frame body stays below MAX_FRAME (see `push`).
            let len = u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes();
            let body_crc = crc32fast::hash(body).to_be_bytes();
            set(&mut self.bytes, start, len);
            set(
                &mut self.bytes,
                start + 4,
                crc32fast::hash(&len).to_be_bytes(),
            );
            set(&mut self.bytes, start + 8, body_crc);
        }
        let bytes = &self.bytes;
        spans
            .into_iter()
            .map(move |(start, end)| bytes.get(start..end).unwrap_or_default())
    }

    /// Empties the batch, giving back memory over `keep` bytes.
    pub(super) fn clear(&mut self, keep: usize) {
        self.bytes.clear();
        self.frames.clear();
        if self.bytes.capacity() > keep {
            self.bytes.shrink_to(keep);
        }
    }
}

/// Writes `word` at `at`, where the caller made room for it.
fn set(bytes: &mut [u8], at: usize, word: [u8; 4]) {
    if let Some(slot) = bytes.get_mut(at..at + 4) {
        slot.copy_from_slice(&word);
    }
}

/// How a scan of the frames ended without finding damage in the middle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ScanEnd {
    /// Where the last whole frame ends.
    pub(super) valid_end: usize,
    /// What was wrong with the bytes after `valid_end`, if any: the tail of
    /// a commit a crash cut short, as nothing valid follows.
    pub(super) torn: Option<Damage>,
}

/// Damage that is not a torn tail: committed ops would be lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Corruption {
    /// Where the damaged frame starts.
    pub(super) offset: usize,
    /// What is wrong with it.
    pub(super) reason: Damage,
}

/// Reads the frames of `bytes` from `start` on, handing each op to `each`
/// in order.
///
/// A frame that fails its checks ends the scan. If any valid frame
/// follows it, a later commit was written after it and the damage is in
/// committed ops: that is [`Corruption`]. If nothing valid follows, the
/// bytes from it on are a commit a crash cut short, reported in
/// [`ScanEnd::torn`]. A frame whose checksums hold but whose ops do not
/// read was written whole and is damaged all the same: [`Corruption`].
pub(super) fn scan(
    bytes: &[u8],
    start: usize,
    mut each: impl FnMut(StoreOp),
) -> Result<ScanEnd, Corruption> {
    let mut at = start;
    while at < bytes.len() {
        match frame_at(bytes, at) {
            Ok((body, next)) => {
                ops(body, &mut each).map_err(|reason| Corruption { offset: at, reason })?;
                at = next;
            }
            Err(reason) => {
                let valid_after = (at + 1..bytes.len()).any(|q| frame_at(bytes, q).is_ok());
                if valid_after {
                    return Err(Corruption { offset: at, reason });
                }
                return Ok(ScanEnd {
                    valid_end: at,
                    torn: Some(reason),
                });
            }
        }
    }
    Ok(ScanEnd {
        valid_end: at,
        torn: None,
    })
}

/// The ops of a frame body whose checksum holds.
fn ops(body: &[u8], each: &mut impl FnMut(StoreOp)) -> Result<(), Damage> {
    let mut r = Cursor { bytes: body, at: 0 };
    while r.at < body.len() {
        let op = r
            .u32()
            .filter(|&len| len <= MAX_OP)
            .and_then(|len| r.take(usize::try_from(len).ok()?))
            .ok_or(Damage::Framing)?;
        each(StoreOp::decode(op).map_err(Damage::Record)?);
    }
    Ok(())
}

/// The body of the frame at `at` and where the next one starts, if the
/// bytes there are a whole frame with good checksums. Nothing is
/// allocated: a length is only trusted after its checksum and against the
/// bytes actually there.
fn frame_at(bytes: &[u8], at: usize) -> Result<(&[u8], usize), Damage> {
    let mut r = Cursor { bytes, at };
    let (len, len_crc, body_crc) = match (r.u32(), r.u32(), r.u32()) {
        (Some(len), Some(len_crc), Some(body_crc)) => (len, len_crc, body_crc),
        _ => return Err(Damage::Truncated),
    };
    if len_crc != crc32fast::hash(&len.to_be_bytes()) || len == 0 || len > MAX_FRAME {
        return Err(Damage::Length);
    }
    let body = usize::try_from(len)
        .ok()
        .and_then(|len| r.take(len))
        .ok_or(Damage::Truncated)?;
    if body_crc != crc32fast::hash(body) {
        return Err(Damage::Checksum);
    }
    Ok((body, r.at))
}

/// A cursor over a byte slice that never reads past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let taken = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(taken)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_proto::store::RecordError;

    /// One frame per slice of ops.
    fn framed(commits: &[&[StoreOp]]) -> Vec<u8> {
        let mut out = Vec::new();
        for ops in commits {
            let mut batch = Batch::default();
            for op in *ops {
                batch.push(op).unwrap();
            }
            out.extend(batch.seal().flatten());
        }
        out
    }

    fn ops() -> Vec<StoreOp> {
        vec![
            StoreOp::ForgetIncoming,
            StoreOp::decode(&[2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 9]).unwrap(),
            StoreOp::decode(&[5, 0, 0, 0, 0, 0, 0, 0, 7]).unwrap(),
        ]
    }

    /// Two commits: the first op, then the other two.
    fn two_commits() -> (Vec<u8>, usize) {
        let ops = ops();
        let first = framed(&[&ops[..1]]).len();
        (framed(&[&ops[..1], &ops[1..]]), first)
    }

    fn collect(bytes: &[u8]) -> Result<(Vec<StoreOp>, ScanEnd), Corruption> {
        let mut ops = Vec::new();
        let end = scan(bytes, 0, |op| ops.push(op))?;
        Ok((ops, end))
    }

    /// A frame holding `body` as is, with good checksums.
    fn raw_frame(body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(body.len()).unwrap().to_be_bytes();
        let mut frame = len.to_vec();
        frame.extend_from_slice(&crc32fast::hash(&len).to_be_bytes());
        frame.extend_from_slice(&crc32fast::hash(body).to_be_bytes());
        frame.extend_from_slice(body);
        frame
    }

    #[test]
    fn header_round_trip() {
        let mut h = Vec::new();
        encode_header("sensor-1", &mut h);
        assert_eq!(parse_header(&h), Ok((&b"sensor-1"[..], h.len())));
        for cut in 0..h.len() {
            let expected = if cut < MAGIC.len() {
                HeaderError::NotAStore
            } else {
                HeaderError::Damaged
            };
            assert_eq!(parse_header(&h[..cut]), Err(expected), "cut at {cut}");
        }
        let mut v2 = h.clone();
        v2[9] = 2;
        assert_eq!(parse_header(&v2), Err(HeaderError::Version(2)));
        let mut flipped = h.clone();
        flipped[14] ^= 1;
        assert_eq!(parse_header(&flipped), Err(HeaderError::Damaged));
    }

    #[test]
    fn ops_round_trip_through_frames() {
        let (bytes, _) = two_commits();
        let (read, end) = collect(&bytes).unwrap();
        assert_eq!(read, ops());
        assert_eq!(
            end,
            ScanEnd {
                valid_end: bytes.len(),
                torn: None
            }
        );
    }

    #[test]
    fn every_cut_of_the_last_commit_is_a_torn_tail() {
        let (whole, first) = two_commits();
        for cut in first + 1..whole.len() {
            let (read, end) = collect(&whole[..cut]).unwrap();
            assert_eq!(read, ops()[..1]);
            assert_eq!(end.valid_end, first);
            assert!(end.torn.is_some());
        }
    }

    #[test]
    fn a_last_commit_with_a_page_missing_is_a_torn_tail() {
        // Its start and end reached the disk, a part in the middle did not.
        let (mut bytes, first) = two_commits();
        bytes[first + FRAME + 2..first + FRAME + 8].fill(0);
        let (read, end) = collect(&bytes).unwrap();
        assert_eq!(read, ops()[..1]);
        assert_eq!(end.torn, Some(Damage::Checksum));
    }

    #[test]
    fn zeros_after_the_frames_are_a_torn_tail() {
        let (mut bytes, _) = two_commits();
        let len = bytes.len();
        bytes.resize(len + 4096, 0);
        let (read, end) = collect(&bytes).unwrap();
        assert_eq!(read, ops());
        assert_eq!(
            end,
            ScanEnd {
                valid_end: len,
                torn: Some(Damage::Length)
            }
        );
    }

    #[test]
    fn any_flipped_bit_before_the_last_commit_is_corruption() {
        let (whole, first) = two_commits();
        for byte in 0..first {
            for bit in 0..8 {
                let mut bytes = whole.clone();
                bytes[byte] ^= 1 << bit;
                assert!(collect(&bytes).is_err(), "byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn a_frame_with_good_checksums_that_does_not_read_is_corruption() {
        let (mut bytes, _) = two_commits();
        let at = bytes.len();
        bytes.extend(raw_frame(&[0, 0, 0, 1, 42]));
        assert_eq!(
            collect(&bytes),
            Err(Corruption {
                offset: at,
                reason: Damage::Record(RecordError::UnknownOp(42))
            })
        );
        bytes.truncate(at);
        bytes.extend(raw_frame(&[0, 0, 0, 2, 8]));
        assert_eq!(
            collect(&bytes),
            Err(Corruption {
                offset: at,
                reason: Damage::Framing
            })
        );
    }

    #[test]
    fn a_length_over_the_bound_is_damage_even_with_its_checksum() {
        let len = (MAX_FRAME + 1).to_be_bytes();
        let mut bytes = len.to_vec();
        bytes.extend_from_slice(&crc32fast::hash(&len).to_be_bytes());
        bytes.extend_from_slice(&[0; 4]);
        let end = collect(&bytes).unwrap().1;
        assert_eq!(end.torn, Some(Damage::Length));
    }

    #[test]
    fn a_large_batch_takes_several_frames() {
        let mut batch = Batch {
            split: 10,
            ..Batch::default()
        };
        let many: Vec<StoreOp> = ops().into_iter().cycle().take(9).collect();
        for op in &many {
            batch.push(op).unwrap();
        }
        let frames: Vec<Vec<u8>> = batch.seal().map(<[u8]>::to_vec).collect();
        assert!(frames.len() > 2, "{}", frames.len());
        let bytes = frames.concat();
        assert_eq!(bytes.len(), batch.len());
        assert_eq!(collect(&bytes).unwrap().0, many);
        // Each frame is checked on its own: a torn last one costs only its
        // ops.
        let first_two = frames[0].len() + frames[1].len();
        let (read, end) = collect(&bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(end.valid_end, bytes.len() - frames.last().unwrap().len());
        assert!(read.len() < many.len() && read.len() >= 2);
        assert!(first_two <= end.valid_end);
    }

    #[test]
    fn a_batch_is_one_frame_and_can_be_reused() {
        let mut batch = Batch::default();
        assert!(batch.is_empty());
        for op in ops() {
            batch.push(&op).unwrap();
        }
        assert_eq!(batch.seal().count(), 1);
        let len = batch.len();
        batch.clear(0);
        assert!(batch.is_empty());
        for op in ops() {
            batch.push(&op).unwrap();
        }
        assert_eq!(batch.len(), len);
        let bytes: Vec<u8> = batch.seal().flatten().copied().collect();
        assert_eq!(collect(&bytes).unwrap().0, ops());
    }
}
