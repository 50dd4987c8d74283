package attrcrypt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// marker is a plaintext that must never appear in an error message.
const marker = "MARKER-PLAINTEXT-7f3a"

var fuzzConfig = Config{Table: "fuzz", TenantAttribute: "tenant", Actions: map[string]Action{
	"enc_s": ActionEncrypt, "enc_m": ActionEncrypt, "enc_ns": ActionEncrypt, "note": ActionPlain,
}}

var fuzzBase = sync.OnceValues(func() (*Sealer, map[string]types.AttributeValue) {
	s, err := NewSealer(fuzzConfig)
	if err != nil {
		panic(err)
	}
	return s, map[string]types.AttributeValue{
		"tenant": S("t1"),
		"enc_s":  S(marker),
		"enc_m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"k": S(marker), "l": &types.AttributeValueMemberL{Value: []types.AttributeValue{B([]byte(marker)), SS(marker, "x")}},
		}},
		"enc_ns": NS("1.5", "2"),
		"sig_s":  S(marker),
		"sig_n":  N("42"),
		"note":   S(marker),
	}
})

var fuzzKey = testKey("t1", "", 1)

// fuzzTargets are the attributes FuzzOpen mutates, by index.
var fuzzTargets = []string{HeaderAttribute, SignatureAttribute, "enc_s", "enc_m", "enc_ns", "sig_s", "tenant"}

// FuzzOpen seals an item holding a marker plaintext, mutates one attribute
// (replace bytes at an offset, truncate or extend), and opens it. Open must
// not panic, no error may contain the marker, and whatever Open accepts must
// be exactly the original item.
func FuzzOpen(f *testing.F) {
	f.Add(uint8(0), uint16(0), []byte{2}, uint8(0))
	f.Add(uint8(0), uint16(40), []byte{0xff}, uint8(0))
	f.Add(uint8(1), uint16(3), []byte{0}, uint8(1))
	f.Add(uint8(2), uint16(0), []byte{codeB}, uint8(0))
	f.Add(uint8(3), uint16(20), []byte("x"), uint8(2))
	f.Add(uint8(5), uint16(0), []byte("M"), uint8(0))
	f.Add(uint8(6), uint16(0), []byte("t2"), uint8(0))
	f.Fuzz(func(t *testing.T, which uint8, off uint16, patch []byte, mode uint8) {
		s, orig := fuzzBase()
		sealed, err := s.Seal(orig, fuzzKey)
		if err != nil {
			t.Fatal(err)
		}
		name := fuzzTargets[int(which)%len(fuzzTargets)]
		var b []byte
		switch v := sealed[name].(type) {
		case *types.AttributeValueMemberB:
			b = bytes.Clone(v.Value)
		case *types.AttributeValueMemberS:
			b = []byte(v.Value)
		}
		o := int(off)
		if len(b) > 0 {
			o %= len(b) + 1
		} else {
			o = 0
		}
		switch mode % 3 {
		case 0: // overwrite
			for i, p := range patch {
				if o+i < len(b) {
					b[o+i] = p
				} else {
					b = append(b, p)
				}
			}
		case 1: // truncate
			b = b[:o]
		case 2: // insert
			b = append(b[:o], append(bytes.Clone(patch), b[o:]...)...)
		}
		m := cloneItem(sealed)
		if _, ok := sealed[name].(*types.AttributeValueMemberS); ok {
			m[name] = S(string(b))
		} else {
			m[name] = B(b)
		}
		got, _, err := s.Open(m, fuzzKey)
		if err != nil {
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("error contains the plaintext marker: %v", err)
			}
			if got != nil {
				t.Fatal("item returned with an error")
			}
			return
		}
		want := canonicalItemFor(t, s, orig)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Open accepted an altered item (attribute %s)", name)
		}
		if _, err := s.KeyRef(m); err != nil {
			t.Fatalf("KeyRef failed on an item Open accepted: %v", err)
		}
	})
}

// canonicalItemFor is what Open returns for orig sealed by s: encrypted
// values canonical, others unchanged.
func canonicalItemFor(t *testing.T, s *Sealer, orig map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := cloneItem(orig)
	c := canonicalItem(t, orig)
	for name := range orig {
		if s.action(name) == ActionEncrypt {
			out[name] = c[name]
		}
	}
	return out
}

// FuzzParseHeader: the header parser never panics, never echoes its input
// in an error, and a header it accepts re-encodes to the same bytes.
func FuzzParseHeader(f *testing.F) {
	s, orig := fuzzBase()
	sealed, err := s.Seal(orig, fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bval(sealed, HeaderAttribute))
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(b)
		if err != nil {
			if len(b) >= 8 && strings.Contains(err.Error(), string(b)) {
				t.Fatal("error echoes the input")
			}
			return
		}
		acts := make([]attr, h.n)
		for i := range acts {
			acts[i].act = h.action(i)
		}
		plainRaw := encodePlainNames(h.plain)
		out := make([]byte, headerLen(h.class, h.n, plainRaw))
		putHeader(out, h.class, h.keyVersion, acts, plainRaw)
		copy(out[saltOffset(len(h.class)):], h.salt)
		copy(out[commitOffset(len(h.class)):], h.commitment)
		if !bytes.Equal(out, b) {
			t.Fatalf("accepted header does not re-encode to itself\n in  %x\n out %x", b, out)
		}
	})
}

// writeFuzzSeeds regenerates the committed seed corpus under testdata/fuzz
// (TestVectors calls it with -update).
func writeFuzzSeeds(t *testing.T) {
	_, orig := fuzzBase()
	s, err := NewSealer(fuzzConfig, WithRandom(bytes.NewReader(derivedBytes("salt", "fuzz seeds"))))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(orig, fuzzKey)
	if err != nil {
		t.Fatal(err)
	}
	hdr := bval(sealed, HeaderAttribute)
	write := func(target, name string, lines ...string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n" + strings.Join(lines, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bl := func(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")" }
	write("FuzzParseHeader", "sealed-header", bl(hdr))
	write("FuzzParseHeader", "truncated", bl(hdr[:len(hdr)-1]))
	write("FuzzParseHeader", "with-plain-names", bl(append(append(bytes.Clone(hdr[:len(hdr)-4]), 0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 1), 'b')))
	write("FuzzParseHeader", "version-2", bl([]byte{2, 0, 0, 0}))
	for i, c := range []struct {
		which, mode uint8
		off         uint16
		patch       []byte
	}{
		{0, 0, 0, []byte{1}}, {0, 0, 2 + 4 + 3, []byte{0xaa}}, {0, 1, 50, nil}, {0, 2, 80, []byte{0}},
		{1, 0, 31, []byte{0}}, {1, 1, 16, nil}, {2, 0, 0, []byte{codeN}}, {2, 0, 9, []byte("!")},
		{3, 1, 10, nil}, {4, 2, 1, []byte{0, 0, 0, 0}}, {5, 0, 0, []byte("X")}, {6, 0, 1, []byte("2")},
	} {
		write("FuzzOpen", fmt.Sprintf("seed-%02d", i),
			fmt.Sprintf("uint8(%d)", c.which), fmt.Sprintf("uint16(%d)", c.off), bl(c.patch), fmt.Sprintf("uint8(%d)", c.mode))
	}
}
