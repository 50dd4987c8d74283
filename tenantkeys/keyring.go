package tenantkeys

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// DefaultMasterKeyEnv is the environment variable KeyringFromEnv reads by
// default.
const DefaultMasterKeyEnv = "DYNASEAL_MASTER_KEY"

// localKeyIDPrefix marks Wrapped.KeyID values made by a Keyring.
const localKeyIDPrefix = "local:"

const localBlobVersion = 1

// ErrKeyring reports an unusable master key file or variable (bad syntax,
// wrong key length, loose file permissions). Test with errors.Is.
var ErrKeyring = errors.New("tenantkeys: invalid master keyring")

// Keyring is a set of local master keys, each named by an id. It is the
// Wrapper for development, tests and deployments without KMS: tenant keys
// are wrapped with AES-256-GCM under a master key, with the key id and
// EncryptionContext(ref) bound as associated data.
//
// New wraps use the newest master key (the last one listed); unwrapping
// uses the key id recorded in the wrapped blob, so the master key can be
// rotated by appending a key (RotateMasterKeyFile) while every existing
// tenant key keeps unwrapping. Remove an old master key only after every
// tenant key wrapped under it has been rotated.
//
// The text form, in a file or an environment variable, is one key per line
// (or per ';'-separated entry): "<id> <key>" or "<id>:<key>", where the key
// is 32 bytes in hex or base64. Blank lines and lines starting with '#' are
// ignored. A keyring with a single key may omit the id (it becomes "0").
// Master keys never come from a constant in code.
//
// A Keyring is safe for concurrent use. It keeps only the expanded AES key
// schedules, and clears the decoded key bytes after parsing.
type Keyring struct {
	ids    []string
	aeads  map[string]cipher.AEAD
	newest string
}

// ParseKeyring parses the text form described on Keyring.
func ParseKeyring(text []byte) (*Keyring, error) {
	kr := &Keyring{aeads: make(map[string]cipher.AEAD)}
	var entries []string
	for _, line := range strings.FieldsFunc(string(text), func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		entries = append(entries, strings.Split(line, ";")...)
	}
	var raw [][2]string
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		var id, key string
		if i := strings.IndexAny(e, " \t:"); i >= 0 {
			id, key = e[:i], strings.TrimSpace(e[i+1:])
		} else {
			key = e
		}
		raw = append(raw, [2]string{id, key})
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: no master key found", ErrKeyring)
	}
	for i, r := range raw {
		id, key := r[0], r[1]
		if id == "" {
			if len(raw) != 1 {
				return nil, fmt.Errorf("%w: entry %d has no key id (ids may be omitted only with a single key)", ErrKeyring, i+1)
			}
			id = "0"
		}
		if !validKeyID(id) {
			return nil, fmt.Errorf("%w: entry %d: key id must be 1 to 32 characters from [A-Za-z0-9._-]", ErrKeyring, i+1)
		}
		if _, dup := kr.aeads[id]; dup {
			return nil, fmt.Errorf("%w: duplicate key id %q", ErrKeyring, id)
		}
		material, err := decodeMasterKey(key)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrKeyring, id, err)
		}
		block, err := aes.NewCipher(material)
		clear(material)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrKeyring, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrKeyring, id, err)
		}
		kr.aeads[id] = aead
		kr.ids = append(kr.ids, id)
		kr.newest = id
	}
	return kr, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// decodeMasterKey accepts 64 hex digits or base64 (standard or URL, padded
// or not) of exactly 32 bytes. Error messages never echo the input.
func decodeMasterKey(s string) ([]byte, error) {
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) == 32 {
				return b, nil
			}
			clear(b)
		}
	}
	return nil, errors.New("not 32 bytes of hex or base64")
}

// LoadKeyringFile reads a keyring file. On Unix it refuses a file that
// group or others may read or write (chmod 600 fixes that).
func LoadKeyringFile(path string) (*Keyring, error) {
	text, err := readKeyringFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(text)
	kr, err := ParseKeyring(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kr, nil
}

func readKeyringFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: open master key file: %w", ErrKeyring, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: stat master key file: %w", ErrKeyring, err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %#o; it must not be accessible to group or others (chmod 600)", ErrKeyring, path, st.Mode().Perm())
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		clear(buf.Bytes())
		return nil, fmt.Errorf("%w: read master key file: %w", ErrKeyring, err)
	}
	return buf.Bytes(), nil
}

// KeyringFromEnv parses the keyring held in the environment variable name
// (DefaultMasterKeyEnv if name is ""). Entries may be separated by ';'.
func KeyringFromEnv(name string) (*Keyring, error) {
	if name == "" {
		name = DefaultMasterKeyEnv
	}
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: environment variable %s is not set", ErrKeyring, name)
	}
	kr, err := ParseKeyring([]byte(v))
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", name, err)
	}
	return kr, nil
}

// DefaultMasterKeyPath is where the quickstart keeps a development master
// key: <user config dir>/dynaseal/master.key.
func DefaultMasterKeyPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("%w: no user config directory: %w", ErrKeyring, err)
	}
	return filepath.Join(dir, "dynaseal", "master.key"), nil
}

// GenerateMasterKeyFile creates a keyring file at path holding one new
// random master key (id "k1"), with permissions 0600 (its directory is
// created 0700 if missing). It fails with an error wrapping fs.ErrExist if
// the file exists, so a key is never overwritten.
func GenerateMasterKeyFile(path string) (*Keyring, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: create master key directory: %w", ErrKeyring, err)
	}
	text, err := newKeyLine("k1")
	if err != nil {
		return nil, err
	}
	defer clear(text)
	content := append([]byte("# dynaseal local master keyring: one \"<id> <hex key>\" per line, newest last. Keep secret.\n"), text...)
	defer clear(content)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: create master key file: %w", ErrKeyring, err)
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: write master key file: %w", ErrKeyring, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("%w: write master key file: %w", ErrKeyring, err)
	}
	return ParseKeyring(content)
}

// RotateMasterKeyFile appends a new random master key to the keyring file
// at path and returns the new keyring. New wraps use the new key; tenant
// keys wrapped under older master keys keep unwrapping until moved with
// Admin.Rewrap (or a rotation).
//
// It is safe against concurrent rotations, in this process or others: it
// holds an exclusive lock on path+".lock" (flock on Unix) while it re-reads
// the file, writes the new content to a temporary file in the same
// directory (mode 0600), fsyncs it, renames it over path and fsyncs the
// directory. So every rotation's key is kept, and a crash leaves either the
// old or the new file, never a torn one.
func RotateMasterKeyFile(path string) (*Keyring, error) {
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("%w: lock master key file: %w", ErrKeyring, err)
	}
	defer unlock()
	content, err := readKeyringFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(content)
	old, err := ParseKeyring(content)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	id := ""
	for n := len(old.ids) + 1; ; n++ {
		id = fmt.Sprintf("k%d", n)
		if _, taken := old.aeads[id]; !taken {
			break
		}
	}
	line, err := newKeyLine(id)
	if err != nil {
		return nil, err
	}
	defer clear(line)
	if len(content) > 0 && content[len(content)-1] != '\n' {
		content = append(content, '\n')
	}
	content = append(content, line...)
	if err := replaceFile(path, content); err != nil {
		return nil, fmt.Errorf("%w: rotate master key file: %w", ErrKeyring, err)
	}
	return ParseKeyring(content)
}

// replaceFile atomically and durably replaces path with content (0600).
func replaceFile(path string, content []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(content)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func newKeyLine(id string) ([]byte, error) {
	var material [32]byte
	defer clear(material[:])
	if _, err := rand.Read(material[:]); err != nil {
		return nil, fmt.Errorf("%w: crypto/rand: %w", ErrKeyring, err)
	}
	line := make([]byte, 0, len(id)+1+64+1)
	line = append(line, id...)
	line = append(line, ' ')
	line = hex.AppendEncode(line, material[:])
	return append(line, '\n'), nil
}

// IDs returns the master key ids, oldest first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Newest returns the id of the master key new wraps use.
func (k *Keyring) Newest() string { return k.newest }

// GenerateWrapped implements Wrapper.
func (k *Keyring) GenerateWrapped(ctx context.Context, ref attrcrypt.KeyRef) (Wrapped, error) {
	key, w, err := k.GenerateKey(ctx, ref)
	key.Zero()
	return w, err
}

// GenerateKey implements Wrapper: random material from crypto/rand, wrapped
// under the newest master key.
func (k *Keyring) GenerateKey(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, Wrapped, error) {
	key := attrcrypt.Key{Ref: ref}
	if _, err := rand.Read(key.Material[:]); err != nil {
		return attrcrypt.Key{}, Wrapped{}, fmt.Errorf("%w: crypto/rand: %w", ErrKeyring, err)
	}
	w, err := k.Wrap(ctx, key)
	if err != nil {
		key.Zero()
		return attrcrypt.Key{}, Wrapped{}, err
	}
	return key, w, nil
}

var _ KeyWrapper = (*Keyring)(nil)

// Wrap implements KeyWrapper: it wraps key under the newest master key.
func (k *Keyring) Wrap(_ context.Context, key attrcrypt.Key) (Wrapped, error) {
	id := k.newest
	aead := k.aeads[id]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Wrapped{}, fmt.Errorf("%w: crypto/rand: %w", ErrKeyring, err)
	}
	blob := make([]byte, 0, 2+len(id)+len(nonce)+attrcrypt.KeySize+aead.Overhead())
	blob = append(blob, localBlobVersion, byte(len(id)))
	blob = append(blob, id...)
	blob = append(blob, nonce...)
	blob = aead.Seal(blob, nonce, key.Material[:], localAAD(id, key.Ref))
	return Wrapped{KeyID: localKeyIDPrefix + id, Blob: blob}, nil
}

// wrapsUnder implements wrapTarget.
func (k *Keyring) wrapsUnder(_ attrcrypt.KeyRef, w Wrapped) bool {
	return w.KeyID == localKeyIDPrefix+k.newest
}

// Unwrap implements Wrapper. Only this keyring's master keys unwrap: a
// record naming another wrapping key (a KMS key, or a master key id not in
// the keyring) fails with ErrUntrustedKey; a blob whose recorded key id
// disagrees with its own, or that fails authentication under ref's
// context (edited, or copied from another tenant, class or version), fails
// with ErrKeyRecordTampered (and ErrKeyCorrupt).
func (k *Keyring) Unwrap(_ context.Context, ref attrcrypt.KeyRef, w Wrapped) (attrcrypt.Key, error) {
	if w.KeyID != "" && !strings.HasPrefix(w.KeyID, localKeyIDPrefix) {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s: the record names wrapping key %s, not a local master key", ErrUntrustedKey, ref, w.KeyID)
	}
	b := w.Blob
	if len(b) < 2 || b[0] != localBlobVersion || len(b) < 2+int(b[1]) {
		return attrcrypt.Key{}, tamperedf("%s: not a local keyring blob", ref)
	}
	id := string(b[2 : 2+int(b[1])])
	if w.KeyID != localKeyIDPrefix+id {
		return attrcrypt.Key{}, tamperedf("%s: recorded wrapping key differs from the blob's", ref)
	}
	aead, ok := k.aeads[id]
	if !ok {
		// Either a master key removed too early or a planted record: both
		// are refused; neither is ever tried.
		return attrcrypt.Key{}, fmt.Errorf("%w: %w: %s: master key %q is not in the keyring", ErrUntrustedKey, ErrKeyNotFound, ref, id)
	}
	rest := b[2+len(id):]
	if len(rest) != aead.NonceSize()+attrcrypt.KeySize+aead.Overhead() {
		return attrcrypt.Key{}, tamperedf("%s: wrapped key has the wrong length", ref)
	}
	key := attrcrypt.Key{Ref: ref}
	ns := aead.NonceSize()
	if _, err := aead.Open(key.Material[:0], rest[:ns], rest[ns:], localAAD(id, ref)); err != nil {
		key.Zero()
		return attrcrypt.Key{}, tamperedf("%s: wrapped key fails authentication", ref)
	}
	return key, nil
}

// localAAD is a length-prefixed encoding of a domain label, the master key
// id and the sorted encryption context.
func localAAD(id string, ref attrcrypt.KeyRef) []byte {
	ec := EncryptionContext(ref)
	names := make([]string, 0, len(ec))
	for n := range ec {
		names = append(names, n)
	}
	sort.Strings(names)
	out := appendLP(nil, "dynaseal/tenantkeys/local-wrap/v1")
	out = appendLP(out, id)
	for _, n := range names {
		out = appendLP(out, n)
		out = appendLP(out, ec[n])
	}
	return out
}

func appendLP(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

var _ Wrapper = (*Keyring)(nil)
