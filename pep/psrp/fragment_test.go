package psrp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFragmentWireForm(t *testing.T) {
	// §2.2.4: ObjectId and FragmentId big-endian, flags (E=2, S=1),
	// BlobLength big-endian, blob.
	f := Fragment{ObjectID: 1, FragmentID: 0, Start: true, End: true, Blob: []byte("abc")}
	want := []byte{
		0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 0,
		3,
		0, 0, 0, 3,
		'a', 'b', 'c',
	}
	got := f.AppendBinary(nil)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("wire form (-want +got):\n%s", diff)
	}
	back, rest, err := ParseFragment(append(got, 0xFF))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]byte{0xFF}, rest); diff != "" {
		t.Errorf("rest (-want +got):\n%s", diff)
	}
}

func TestFragmenterRoundTrip(t *testing.T) {
	tests := map[string]struct {
		size, max int
		frags     int
	}{
		"empty message":          {size: 0, max: 64, frags: 1},
		"fits one fragment":      {size: 43, max: 64, frags: 1},
		"exactly two fragments":  {size: 86, max: 64, frags: 2},
		"one byte over":          {size: 87, max: 64, frags: 3},
		"large with default max": {size: 100_000, max: 0, frags: 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			msg := bytes.Repeat([]byte("0123456789"), tc.size/10+1)[:tc.size]
			fr := Fragmenter{MaxFragment: tc.max}
			frags := fr.Fragment(msg)
			if len(frags) != tc.frags {
				t.Fatalf("got %d fragments, want %d", len(frags), tc.frags)
			}
			limit := tc.max
			if limit == 0 {
				limit = DefaultMaxFragment
			}
			for i, f := range frags {
				if n := FragmentHeaderLen + len(f.Blob); n > limit {
					t.Errorf("fragment %d is %d bytes, limit %d", i, n, limit)
				}
				if f.FragmentID != uint64(i) || f.Start != (i == 0) || f.End != (i == len(frags)-1) || f.ObjectID != 1 {
					t.Errorf("fragment %d: id %d start %v end %v object %d", i, f.FragmentID, f.Start, f.End, f.ObjectID)
				}
			}
			var d Defragmenter
			var got [][]byte
			for _, p := range Pack(frags, 3*limit) {
				msgs, err := d.Feed(p)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, msgs...)
			}
			if diff := cmp.Diff([][]byte{msg}, got); diff != "" {
				t.Errorf("reassembled (-want +got):\n%s", diff)
			}
			if d.Pending() != 0 {
				t.Errorf("%d objects left pending", d.Pending())
			}
		})
	}
}

func TestFragmenterNumbersObjects(t *testing.T) {
	var fr Fragmenter
	a, b := fr.Fragment([]byte("a")), fr.Fragment([]byte("b"))
	if a[0].ObjectID != 1 || b[0].ObjectID != 2 {
		t.Fatalf("object ids %d, %d; want 1, 2", a[0].ObjectID, b[0].ObjectID)
	}
}

func TestDefragmenterInterleaved(t *testing.T) {
	fr := Fragmenter{MaxFragment: FragmentHeaderLen + 4}
	a := fr.Fragment([]byte("aaaaaaaaaa")) // 3 fragments
	b := fr.Fragment([]byte("bbbbbb"))     // 2 fragments
	order := []Fragment{a[0], b[0], a[1], b[1], a[2]}
	var d Defragmenter
	var got []string
	for _, f := range order {
		msg, err := d.Add(f)
		if err != nil {
			t.Fatal(err)
		}
		if msg != nil {
			got = append(got, string(msg))
		}
	}
	if diff := cmp.Diff([]string{"bbbbbb", "aaaaaaaaaa"}, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestDefragmenterRejects(t *testing.T) {
	start := Fragment{ObjectID: 7, FragmentID: 0, Start: true, Blob: []byte("xx")}
	tests := map[string]struct {
		d     Defragmenter
		frags []Fragment
		want  string
	}{
		"continuation without start": {
			frags: []Fragment{{ObjectID: 7, FragmentID: 1, End: true}},
			want:  "without a start",
		},
		"out of order": {
			frags: []Fragment{start, {ObjectID: 7, FragmentID: 2, End: true}},
			want:  "out of order",
		},
		"started twice": {
			frags: []Fragment{start, start},
			want:  "started twice",
		},
		"start not at zero": {
			frags: []Fragment{{ObjectID: 7, FragmentID: 3, Start: true, End: true}},
			want:  "want 0",
		},
		"too large": {
			d:     Defragmenter{MaxMessage: 3},
			frags: []Fragment{start, {ObjectID: 7, FragmentID: 1, End: true, Blob: []byte("yy")}},
			want:  "exceeds 3",
		},
		"too many pending": {
			d:     Defragmenter{MaxPending: 1},
			frags: []Fragment{start, {ObjectID: 8, Start: true}},
			want:  "more than 1",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var err error
			for _, f := range tc.frags {
				if _, err = tc.d.Add(f); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseFragmentsTruncated(t *testing.T) {
	b := Fragment{ObjectID: 1, Start: true, End: true, Blob: []byte("hello")}.AppendBinary(nil)
	for _, n := range []int{1, FragmentHeaderLen - 1, FragmentHeaderLen, len(b) - 1} {
		if _, err := ParseFragments(b[:n]); err != ErrShortFragment {
			t.Errorf("ParseFragments(%d of %d bytes) = %v, want ErrShortFragment", n, len(b), err)
		}
	}
}

func TestPackKeepsOrderAndLimit(t *testing.T) {
	fr := Fragmenter{MaxFragment: 30}
	var frags []Fragment
	for _, m := range []string{"first message here", "second", "third message is long enough to split"} {
		frags = append(frags, fr.Fragment([]byte(m))...)
	}
	payloads := Pack(frags, 60)
	var all []Fragment
	for i, p := range payloads {
		if len(p) > 60 {
			t.Errorf("payload %d is %d bytes, limit 60", i, len(p))
		}
		fs, err := ParseFragments(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	if diff := cmp.Diff(frags, all); diff != "" {
		t.Errorf("fragments after packing (-want +got):\n%s", diff)
	}
}
