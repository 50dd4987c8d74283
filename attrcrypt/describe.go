package attrcrypt

import (
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// HeaderInfo is what a stored item's header records, read without a key.
// It holds names, actions and the key reference, never a value.
type HeaderInfo struct {
	// FormatVersion is the item format version the header names.
	FormatVersion int
	// Ref is the key the item names: the tenant attribute's value, and the
	// key class and version from the header.
	Ref KeyRef
	// Covered lists the signed and encrypted attributes in the order the
	// signature covers them (bytewise by name), with the action the header
	// records for each.
	Covered []CoveredAttribute
	// Plain lists the names the writer marked plain (outside the
	// signature), sorted.
	Plain []string
}

// CoveredAttribute is one attribute the signature covers and the action it
// was sealed with.
type CoveredAttribute struct {
	Name   string
	Action Action
}

// Describe parses stored's header and pairs the actions it records with the
// item's covered attributes (every attribute except the reserved ones and
// the header's plain names), as OpenRecorded does. It authenticates
// nothing: a header an attacker rewrote describes what the attacker wrote.
// Use Verify or OpenRecorded to know whether the item is genuine. It is for
// operations tools that show an item's header.
//
// Errors are ErrTampered (*TamperError) for a missing or malformed header or
// tenant attribute, and for an item whose covered set does not have the
// count the header records; in that last case the returned HeaderInfo still
// holds FormatVersion, Ref and Plain.
func (s *Sealer) Describe(stored map[string]types.AttributeValue) (HeaderInfo, error) {
	var info HeaderInfo
	ref, err := s.KeyRef(stored)
	if err != nil {
		return info, err
	}
	h, err := s.itemHeader(stored)
	if err != nil {
		return info, err
	}
	info.FormatVersion = int(h.version)
	info.Ref = ref
	info.Plain = slices.Clone(h.plain)
	names := make([]string, 0, len(stored))
	for name := range stored {
		if !IsReserved(name) && !h.isStoredPlain(name) {
			names = append(names, name)
		}
	}
	if len(names) != h.n {
		return info, errAttrCount(len(names), h.n)
	}
	slices.Sort(names) // bytewise, the order sortAttrs gives
	info.Covered = make([]CoveredAttribute, len(names))
	for i, n := range names {
		info.Covered[i] = CoveredAttribute{Name: n, Action: h.action(i)}
	}
	return info, nil
}
