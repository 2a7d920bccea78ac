package psrp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// FragmentHeaderLen is the size of a fragment header: ObjectId (8),
// FragmentId (8), flags (1) and BlobLength (4), all big-endian (§2.2.4).
const FragmentHeaderLen = 21

// DefaultMaxFragment is the fragment size (header included) the Fragmenter
// uses when none is set. PowerShell's own default is 32 KiB; a smaller
// fragment keeps every WS-Management envelope well under the 150 KiB
// MaxEnvelopeSize after base64 and XML overhead.
const DefaultMaxFragment = 32 << 10

const (
	flagStart = 0x1
	flagEnd   = 0x2
)

// ErrShortFragment reports a fragment whose header or blob is cut short.
var ErrShortFragment = errors.New("psrp: fragment truncated")

// Fragment is one piece of a PSRP message. A message (an "object") is sent
// as fragments numbered from 0; the first carries Start, the last End, and a
// message that fits in one fragment carries both.
type Fragment struct {
	ObjectID   uint64
	FragmentID uint64
	Start      bool
	End        bool
	Blob       []byte
}

// AppendBinary appends the wire form of f to b.
func (f Fragment) AppendBinary(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, f.ObjectID)
	b = binary.BigEndian.AppendUint64(b, f.FragmentID)
	var flags byte
	if f.Start {
		flags |= flagStart
	}
	if f.End {
		flags |= flagEnd
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(f.Blob)))
	return append(b, f.Blob...)
}

// ParseFragment reads one fragment from the front of b and returns it with
// the bytes that follow it. The blob aliases b.
func ParseFragment(b []byte) (Fragment, []byte, error) {
	if len(b) < FragmentHeaderLen {
		return Fragment{}, nil, ErrShortFragment
	}
	f := Fragment{
		ObjectID:   binary.BigEndian.Uint64(b[0:8]),
		FragmentID: binary.BigEndian.Uint64(b[8:16]),
		Start:      b[16]&flagStart != 0,
		End:        b[16]&flagEnd != 0,
	}
	if b[16]&^(flagStart|flagEnd) != 0 {
		return Fragment{}, nil, fmt.Errorf("psrp: fragment %d/%d: reserved flag bits %#x set", f.ObjectID, f.FragmentID, b[16])
	}
	n := binary.BigEndian.Uint32(b[17:21])
	if uint64(n) > uint64(len(b)-FragmentHeaderLen) {
		return Fragment{}, nil, ErrShortFragment
	}
	end := FragmentHeaderLen + int(n)
	f.Blob = b[FragmentHeaderLen:end:end]
	return f, b[end:], nil
}

// ParseFragments splits a payload (the decoded content of one WS-Management
// stream or creationXml element) into its fragments.
func ParseFragments(b []byte) ([]Fragment, error) {
	var out []Fragment
	for len(b) > 0 {
		f, rest, err := ParseFragment(b)
		if err != nil {
			return out, err
		}
		out = append(out, f)
		b = rest
	}
	return out, nil
}

// Fragmenter cuts messages into fragments and numbers the objects. One
// Fragmenter serves one direction of one RunspacePool: ObjectIds must be
// unique within it. It is not safe for concurrent use.
type Fragmenter struct {
	// MaxFragment is the largest fragment, header included; 0 means
	// DefaultMaxFragment.
	MaxFragment int
	last        uint64
}

// Fragment assigns msg the next ObjectId and cuts it into fragments.
func (fr *Fragmenter) Fragment(msg []byte) []Fragment {
	size := fr.MaxFragment
	if size <= 0 {
		size = DefaultMaxFragment
	}
	if size <= FragmentHeaderLen {
		panic(fmt.Sprintf("psrp: Fragmenter.MaxFragment %d leaves no room for data", size))
	}
	room := size - FragmentHeaderLen
	fr.last++
	var out []Fragment
	for id := uint64(0); ; id++ {
		n := min(room, len(msg))
		f := Fragment{ObjectID: fr.last, FragmentID: id, Start: id == 0, Blob: msg[:n:n]}
		msg = msg[n:]
		f.End = len(msg) == 0
		out = append(out, f)
		if f.End {
			return out
		}
	}
}

// Pack concatenates fragments into payloads of at most maxPayload bytes,
// as many whole fragments per payload as fit and in order (§3.1.5.1.1). A
// fragment larger than maxPayload gets a payload of its own.
func Pack(frags []Fragment, maxPayload int) [][]byte {
	var out [][]byte
	var cur []byte
	for _, f := range frags {
		n := FragmentHeaderLen + len(f.Blob)
		if len(cur) > 0 && len(cur)+n > maxPayload {
			out = append(out, cur)
			cur = nil
		}
		cur = f.AppendBinary(cur)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// DefaultMaxMessage bounds a reassembled message unless the Defragmenter is
// told otherwise: a peer cannot make us buffer without limit.
const DefaultMaxMessage = 64 << 20

// Defragmenter reassembles messages from fragments. Fragments of different
// objects may interleave; those of one object must arrive in order. It is
// not safe for concurrent use.
type Defragmenter struct {
	// MaxMessage bounds one reassembled message; 0 means DefaultMaxMessage.
	MaxMessage int
	// MaxPending bounds the objects in reassembly at once; 0 means 64.
	MaxPending int
	pending    map[uint64]*partial
}

type partial struct {
	next uint64
	data []byte
}

// Add takes one fragment and returns the completed message (never nil,
// even when empty) when f ends one, else nil. An out-of-order, duplicate or oversized fragment is an
// error, and the object it belongs to is discarded.
func (d *Defragmenter) Add(f Fragment) ([]byte, error) {
	maxMsg := d.MaxMessage
	if maxMsg <= 0 {
		maxMsg = DefaultMaxMessage
	}
	maxPending := d.MaxPending
	if maxPending <= 0 {
		maxPending = 64
	}
	if d.pending == nil {
		d.pending = make(map[uint64]*partial)
	}
	p, ok := d.pending[f.ObjectID]
	switch {
	case f.Start && ok:
		delete(d.pending, f.ObjectID)
		return nil, fmt.Errorf("psrp: object %d started twice", f.ObjectID)
	case f.Start && f.FragmentID != 0:
		return nil, fmt.Errorf("psrp: object %d starts at fragment %d, want 0", f.ObjectID, f.FragmentID)
	case f.Start && f.End:
		if len(f.Blob) > maxMsg {
			return nil, fmt.Errorf("psrp: object %d: message of %d bytes exceeds %d", f.ObjectID, len(f.Blob), maxMsg)
		}
		return append([]byte{}, f.Blob...), nil
	case f.Start:
		if len(d.pending) >= maxPending {
			return nil, fmt.Errorf("psrp: more than %d objects in reassembly", maxPending)
		}
		if len(f.Blob) > maxMsg {
			return nil, fmt.Errorf("psrp: object %d: message exceeds %d bytes", f.ObjectID, maxMsg)
		}
		d.pending[f.ObjectID] = &partial{next: 1, data: append([]byte{}, f.Blob...)}
		return nil, nil
	case !ok:
		return nil, fmt.Errorf("psrp: fragment %d of object %d without a start", f.FragmentID, f.ObjectID)
	case f.FragmentID != p.next:
		delete(d.pending, f.ObjectID)
		return nil, fmt.Errorf("psrp: object %d: fragment %d out of order, want %d", f.ObjectID, f.FragmentID, p.next)
	}
	if len(p.data)+len(f.Blob) > maxMsg {
		delete(d.pending, f.ObjectID)
		return nil, fmt.Errorf("psrp: object %d: message exceeds %d bytes", f.ObjectID, maxMsg)
	}
	p.data = append(p.data, f.Blob...)
	p.next++
	if !f.End {
		return nil, nil
	}
	delete(d.pending, f.ObjectID)
	return p.data, nil
}

// Feed parses a payload and adds each of its fragments, returning the
// messages completed by it in order.
func (d *Defragmenter) Feed(payload []byte) ([][]byte, error) {
	frags, err := ParseFragments(payload)
	var out [][]byte
	for _, f := range frags {
		msg, aerr := d.Add(f)
		if aerr != nil {
			return out, aerr
		}
		if msg != nil {
			out = append(out, msg)
		}
	}
	return out, err
}

// Pending returns the number of objects waiting for more fragments.
func (d *Defragmenter) Pending() int { return len(d.pending) }
