package passwords

import (
	"encoding/binary"
	"hash"
	"math/bits"
	"runtime"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// Argon2id (RFC 9106, version 0x13) over memory that is reused between
// hashes. golang.org/x/crypto/argon2 computes the same function but
// allocates its block memory (19 MiB at the default parameters) afresh in
// every call and offers no way to pass memory in. Under a flood of
// sign-ins that garbage drove the collector: its stop-the-world phases
// stalled hashes in flight (one in a hundred took six times as long as a
// lone hash), and two hashes at once each ran 1.4× slower than one alone,
// while with the memory reused they run side by side at full speed
// (docs/performance.md, "Token service"). Owning the loop also lets a hash
// yield to the scheduler as it goes (yieldEvery). This file is the one
// place the function is written by hand; its tests check it against
// x/crypto's argon2.IDKey on many inputs and parameters.
//
// Stale contents of a reused buffer are never read: the first pass writes
// every block before any later block refers to it, and it overwrites
// rather than XORs (x/crypto XORs into memory it knows is zero).

// blockWords is the size of an Argon2 block in 64-bit words (1 KiB).
const blockWords = 128

type block [blockWords]uint64

// yieldEvery is how many blocks a hash computes between yields to the
// scheduler (about one and a half milliseconds). A hash is tens of
// milliseconds of computation without a system call; unyielding, it held
// its P until the scheduler preempted it (every 10 ms), and every handler
// that woke meanwhile, the sign-ins' own among them, waited its turn.
const yieldEvery = 1024

// syncPoints is the number of slices a pass is cut into.
const syncPoints = 4

// argon2idType is y in the RFC: 2 for Argon2id.
const argon2idType = 2

// blocks is the pool of block memory, a *[]block each, reused between
// hashes. sync.Pool lets the collector take buffers nobody has used for
// two collections, so an idle server does not keep hash memory.
var blocks sync.Pool

// idKey derives keyLen bytes from password and salt with Argon2id: time
// passes over memory KiB in threads lanes. It panics on parameters
// x/crypto's argon2.IDKey would refuse (time or threads below 1); callers
// pass parameters checked by NewHasher or parsePHC.
func idKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2id: number of passes must be at least 1")
	}
	if threads < 1 {
		panic("argon2id: parallelism must be at least 1")
	}
	lanes := uint32(threads)
	h0 := initialHash(password, salt, keyLen, time, memory, lanes) // the memory asked for
	memory = max(memory, 2*syncPoints*lanes) / (syncPoints * lanes) * (syncPoints * lanes)

	buf, _ := blocks.Get().(*[]block)
	if buf == nil || uint32(cap(*buf)) < memory {
		b := make([]block, memory)
		buf = &b
	}
	mem := (*buf)[:memory]
	defer blocks.Put(buf)

	laneLen := memory / lanes
	for l := range lanes {
		firstBlocks(&mem[l*laneLen], &mem[l*laneLen+1], h0, l)
	}
	f := filler{mem: mem, lanes: lanes, laneLen: laneLen, segLen: laneLen / syncPoints, passes: time}
	for pass := range time {
		for slice := range uint32(syncPoints) {
			if lanes == 1 {
				f.segment(pass, slice, 0)
				continue
			}
			var wg sync.WaitGroup
			for l := range lanes {
				wg.Go(func() { f.segment(pass, slice, l) })
			}
			wg.Wait()
		}
	}

	var last block
	for l := range lanes {
		xorBlock(&last, &mem[l*laneLen+laneLen-1])
	}
	var raw [blockWords * 8]byte
	for i, w := range last {
		binary.LittleEndian.PutUint64(raw[i*8:], w)
	}
	return variableHash(keyLen, raw[:])
}

// initialHash is H0: BLAKE2b-512 of the parameters, password and salt (no
// secret key, no associated data).
func initialHash(password, salt []byte, keyLen, time, memory, lanes uint32) [blake2b.Size + 8]byte {
	h, _ := blake2b.New512(nil)
	for _, v := range []uint32{lanes, keyLen, memory, time, 0x13, argon2idType, uint32(len(password))} {
		writeLE32(h, v)
	}
	h.Write(password)
	writeLE32(h, uint32(len(salt)))
	h.Write(salt)
	writeLE32(h, 0) // secret key
	writeLE32(h, 0) // associated data
	var out [blake2b.Size + 8]byte
	h.Sum(out[:0])
	return out
}

func writeLE32(h hash.Hash, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	h.Write(b[:])
}

// firstBlocks fills a lane's first two blocks from H0, the block index and
// the lane.
func firstBlocks(b0, b1 *block, h0 [blake2b.Size + 8]byte, lane uint32) {
	binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)
	for i, b := range []*block{b0, b1} {
		binary.LittleEndian.PutUint32(h0[blake2b.Size:], uint32(i))
		raw := variableHash(blockWords*8, h0[:])
		for j := range b {
			b[j] = binary.LittleEndian.Uint64(raw[j*8:])
		}
	}
}

// variableHash is H' of the RFC: BLAKE2b stretched to n bytes.
func variableHash(n uint32, in []byte) []byte {
	out := make([]byte, n)
	var prefix [4]byte
	binary.LittleEndian.PutUint32(prefix[:], n)
	if n <= blake2b.Size {
		h, _ := blake2b.New(int(n), nil)
		h.Write(prefix[:])
		h.Write(in)
		h.Sum(out[:0])
		return out
	}
	h, _ := blake2b.New512(nil)
	h.Write(prefix[:])
	h.Write(in)
	var v [blake2b.Size]byte
	h.Sum(v[:0])
	pos := copy(out, v[:32])
	for n-uint32(pos) > blake2b.Size {
		v = blake2b.Sum512(v[:])
		pos += copy(out[pos:], v[:32])
	}
	last, _ := blake2b.New(int(n)-pos, nil)
	last.Write(v[:])
	last.Sum(out[pos:pos])
	return out
}

// filler computes the blocks of one hash.
type filler struct {
	mem                    []block
	lanes, laneLen, segLen uint32
	passes                 uint32
}

// segment fills one lane's segment of one slice of one pass. The first
// half of the first pass picks reference blocks from a pseudo-random
// stream that does not depend on the password (Argon2i addressing, against
// side channels); everything after, from the previous block (Argon2d).
func (f *filler) segment(pass, slice, lane uint32) {
	independent := pass == 0 && slice < syncPoints/2
	var addresses, input, zero block
	if independent {
		input[0], input[1], input[2] = uint64(pass), uint64(lane), uint64(slice)
		input[3], input[4], input[5] = uint64(len(f.mem)), uint64(f.passes), argon2idType
	}
	index := uint32(0)
	if pass == 0 && slice == 0 {
		index = 2 // firstBlocks wrote them
		if independent {
			nextAddresses(&addresses, &input, &zero)
		}
	}
	offset := lane*f.laneLen + slice*f.segLen + index
	for ; index < f.segLen; index, offset = index+1, offset+1 {
		if index%yieldEvery == 0 {
			runtime.Gosched()
		}
		prev := offset - 1
		if index == 0 && slice == 0 {
			prev += f.laneLen // the lane's last block
		}
		var pseudo uint64
		if independent {
			if index%blockWords == 0 {
				nextAddresses(&addresses, &input, &zero)
			}
			pseudo = addresses[index%blockWords]
		} else {
			pseudo = f.mem[prev][0]
		}
		ref := f.reference(pseudo, pass, slice, lane, index)
		compress(&f.mem[offset], &f.mem[prev], &f.mem[ref], pass > 0)
	}
}

// nextAddresses advances the counter and computes the next block of
// pseudo-random reference positions: G(0, G(0, input)).
func nextAddresses(addresses, input, zero *block) {
	input[6]++
	compress(addresses, zero, input, false)
	compress(addresses, zero, addresses, false)
}

// reference maps a pseudo-random value to the block the current one is
// computed from (RFC 9106 §3.4.1.2): a lane (the current one in the first
// slice of the first pass), then a position among the blocks that lane
// has finished, skewed towards the most recent.
func (f *filler) reference(pseudo uint64, pass, slice, lane, index uint32) uint32 {
	refLane := uint32(pseudo>>32) % f.lanes
	if pass == 0 && slice == 0 {
		refLane = lane
	}
	var area, start uint32
	switch {
	case pass == 0 && (slice == 0 || refLane == lane):
		area = slice*f.segLen + index - 1
	case pass == 0:
		area = slice * f.segLen
		if index == 0 {
			area--
		}
	case refLane == lane:
		area = (syncPoints-1)*f.segLen + index - 1
		start = ((slice + 1) % syncPoints) * f.segLen
	default:
		area = (syncPoints - 1) * f.segLen
		if index == 0 {
			area--
		}
		start = ((slice + 1) % syncPoints) * f.segLen
	}
	x := pseudo & 0xffffffff
	x = x * x >> 32
	x = uint64(area) * x >> 32
	pos := (uint64(start) + uint64(area) - 1 - x) % uint64(f.laneLen)
	return refLane*f.laneLen + uint32(pos)
}

func xorBlock(dst, src *block) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// compress sets out to G(x, y), or XORs G(x, y) into it (passes after the
// first, version 0x13). out may be x or y.
func compress(out, x, y *block, xorInto bool) {
	var r, q block
	for i := range r {
		r[i] = x[i] ^ y[i]
	}
	q = r
	for i := 0; i < blockWords; i += 16 { // rows
		permute(&q[i], &q[i+1], &q[i+2], &q[i+3], &q[i+4], &q[i+5], &q[i+6], &q[i+7],
			&q[i+8], &q[i+9], &q[i+10], &q[i+11], &q[i+12], &q[i+13], &q[i+14], &q[i+15])
	}
	for i := 0; i < 16; i += 2 { // columns
		permute(&q[i], &q[i+1], &q[i+16], &q[i+17], &q[i+32], &q[i+33], &q[i+48], &q[i+49],
			&q[i+64], &q[i+65], &q[i+80], &q[i+81], &q[i+96], &q[i+97], &q[i+112], &q[i+113])
	}
	if xorInto {
		for i := range out {
			out[i] ^= q[i] ^ r[i]
		}
		return
	}
	for i := range out {
		out[i] = q[i] ^ r[i]
	}
}

// permute is the permutation P: BLAKE2b's round with BlaMka's
// multiplications, over sixteen words as a 4×4 matrix.
func permute(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15 *uint64) {
	mix(v0, v4, v8, v12)
	mix(v1, v5, v9, v13)
	mix(v2, v6, v10, v14)
	mix(v3, v7, v11, v15)
	mix(v0, v5, v10, v15)
	mix(v1, v6, v11, v12)
	mix(v2, v7, v8, v13)
	mix(v3, v4, v9, v14)
}

// mix is GB: BLAKE2b's G with each addition a + b replaced by
// a + b + 2·lo(a)·lo(b).
func mix(a, b, c, d *uint64) {
	va, vb, vc, vd := *a, *b, *c, *d
	va += vb + 2*uint64(uint32(va))*uint64(uint32(vb))
	vd = bits.RotateLeft64(vd^va, -32)
	vc += vd + 2*uint64(uint32(vc))*uint64(uint32(vd))
	vb = bits.RotateLeft64(vb^vc, -24)
	va += vb + 2*uint64(uint32(va))*uint64(uint32(vb))
	vd = bits.RotateLeft64(vd^va, -16)
	vc += vd + 2*uint64(uint32(vc))*uint64(uint32(vd))
	vb = bits.RotateLeft64(vb^vc, -63)
	*a, *b, *c, *d = va, vb, vc, vd
}
