// Package attrmap walks the maps and lists of attribute values for the
// converters of package streams and its Lambda adapter, which map one
// SDK's attribute value types onto another's.
package attrmap

import "fmt"

// Image converts every attribute of a top-level image with conv; nil stays
// nil. An error names the attribute (top-level names are the schema's, not
// data) and wraps conv's.
func Image[A, B any](m map[string]A, conv func(A) (B, error)) (map[string]B, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]B, len(m))
	for name, v := range m {
		c, err := conv(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		out[name] = c
	}
	return out, nil
}

// Map converts every value of a nested map with conv. Its errors are
// conv's, without the key: nested map keys can be data.
func Map[A, B any](m map[string]A, conv func(A) (B, error)) (map[string]B, error) {
	out := make(map[string]B, len(m))
	for k, v := range m {
		c, err := conv(v)
		if err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, nil
}

// List converts every element of a list with conv.
func List[A, B any](l []A, conv func(A) (B, error)) ([]B, error) {
	out := make([]B, len(l))
	for i, v := range l {
		c, err := conv(v)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}
