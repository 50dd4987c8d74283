// Package streams opens the records of a DynamoDB stream on a dynaseal
// table: it converts the record's attribute values to the dynamodb types
// and verifies and opens its NewImage and OldImage under the key of the
// tenant each image names (table.Table.OpenImage), so a stream consumer
// gets verified, decrypted items and never hand-assembles sealer, key
// reference, provider and codec.
//
//	for _, rec := range out.Records { // dynamodbstreams GetRecords
//		ch, err := streams.Open(ctx, patients, rec)
//		switch {
//		case err == nil:
//			// ch.EventName, ch.New, ch.Old (verified), ch.Keys
//		case errors.Is(err, streams.ErrKeysOnly):
//			// no image in the record (KEYS_ONLY view...): ch.Keys only
//		case errors.Is(err, table.ErrKeyShredded):
//			// the tenant was shredded since: ch.EventName and ch.Keys only
//		default:
//			// table.ErrTampered and friends: alert, do not apply
//		}
//	}
//
// A stream consumer reads across tenants, as Scan does: it is an admin
// reader and holds every tenant's key access. For AWS Lambda's event type
// use package table/streams/lambdaevents, which converts to this one.
package streams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
)

// Event names of a stream record.
const (
	// Insert: a new item was added.
	Insert = types.OperationTypeInsert
	// Modify: an existing item was replaced or changed.
	Modify = types.OperationTypeModify
	// Remove: the item was deleted (by a call, or by TTL: Change.ByTTL).
	Remove = types.OperationTypeRemove
)

var (
	// ErrKeysOnly: the record carries no item image, only its keys: the
	// stream's view is KEYS_ONLY, or it is the REMOVE of a NEW_IMAGE stream
	// or the INSERT of an OLD_IMAGE stream. The Change returned with it
	// holds the record's metadata and Keys, which nothing verifies.
	ErrKeysOnly = errors.New("streams: record carries only keys, no item image")
	// ErrInvalidRecord: the record is not one DynamoDB Streams writes: no
	// stream data or keys, an unknown event name, an image its event or
	// view type cannot have (an INSERT with an OldImage), an image its view
	// type requires missing, or a value that cannot be converted. Nothing
	// in it was opened.
	ErrInvalidRecord = errors.New("streams: invalid stream record")
)

// Item is an opened item without a Go type (OpenItem): its attributes,
// decrypted, without dynaseal's reserved header and signature.
type Item = map[string]ddbtypes.AttributeValue

// Change is one opened stream record.
//
// On success New and Old are the verified, decrypted images the record
// carries (nil when absent: an INSERT has no Old, a REMOVE no New, and a
// NEW_IMAGE or OLD_IMAGE stream carries only one). When Open fails, New and
// Old are both nil and only the record's metadata and Keys are set, so a
// consumer can still see what changed where (the REMOVE of a tenant
// shredded since) without ever being handed an image from a record that
// failed.
type Change[T any] struct {
	// EventName is Insert, Modify or Remove.
	EventName types.OperationType
	// EventID is the record's unique id.
	EventID string
	// SequenceNumber is the record's sequence number in its shard, for
	// checkpointing.
	SequenceNumber string
	// ApproximateCreationTime is when the change was recorded (zero when
	// the record does not say).
	ApproximateCreationTime time.Time
	// StreamViewType is the stream's view type as the record states it.
	StreamViewType types.StreamViewType
	// ByTTL reports a REMOVE made by DynamoDB's time-to-live process (the
	// record's user identity is the DynamoDB service).
	ByTTL bool
	// Keys are the item's primary key attributes as the record gives them
	// (key attributes are signed plaintext, never encrypted). When an image
	// opened, they were checked against its verified key attributes; with
	// ErrKeysOnly or a failed image they are unverified.
	Keys map[string]ddbtypes.AttributeValue
	// New is the item after the change, verified and opened.
	New *T
	// Old is the item before the change, verified and opened.
	Old *T
}

// ImageError is the failure to open one image of a record. Err is what
// table.Table.OpenImage answered (a *table.ItemError wrapping
// table.ErrTampered, table.ErrKeyShredded, ...), or table.ErrTampered when
// the record's Keys disagree with the verified image. It never contains an
// attribute value.
type ImageError struct {
	// Image is "NewImage" or "OldImage".
	Image string
	// Err is the cause; errors.Is and errors.As see through to it.
	Err error
}

// Error names the image and the cause.
func (e *ImageError) Error() string { return "streams: " + e.Image + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ImageError) Unwrap() error { return e.Err }

// Open verifies and opens both images of rec that are present, each under
// the key of the tenant it names, with t's schema and codec
// (t.OpenImage): see Change for what is set, ImageError for a failed
// image, ErrKeysOnly and ErrInvalidRecord for records without images or
// malformed ones. A MODIFY whose images, each verified, belong to different
// tenants (an unguarded batch write replaced one tenant's item with
// another's, see table.WithUnguardedBatchWrite) fails with
// table.ErrWrongTenant, with no image. rec comes from a GetRecords of the DynamoDB Streams API
// on t's table (or a table restored from it under its logical name).
func Open[T any](ctx context.Context, t *table.Table[T], rec types.Record) (Change[T], error) {
	return open(ctx, t, rec, t.OpenImage)
}

// OpenItem is Open for readers without a Go type for the items (tools,
// exports, generic pipelines): each image is verified under the actions
// its header records and returned as an Item (t.OpenImageItem), every
// attribute its writer sealed included. T only selects the table handle;
// of it, only the logical name, tenant attribute, key attributes and key
// class matter.
func OpenItem[T any](ctx context.Context, t *table.Table[T], rec types.Record) (Change[Item], error) {
	return open(ctx, t, rec, func(ctx context.Context, img map[string]ddbtypes.AttributeValue) (*Item, error) {
		m, err := t.OpenImageItem(ctx, img)
		if err != nil {
			return nil, err
		}
		return &m, nil
	})
}

func open[T, V any](ctx context.Context, t *table.Table[T], rec types.Record, openImage func(context.Context, map[string]ddbtypes.AttributeValue) (*V, error)) (Change[V], error) {
	ch := Change[V]{EventName: rec.EventName}
	if t == nil {
		return ch, errors.New("streams: nil table")
	}
	if rec.EventID != nil {
		ch.EventID = *rec.EventID
	}
	if id := rec.UserIdentity; id != nil && id.Type != nil && id.PrincipalId != nil {
		ch.ByTTL = rec.EventName == Remove && *id.Type == "Service" && *id.PrincipalId == "dynamodb.amazonaws.com"
	}
	sr := rec.Dynamodb
	if sr == nil {
		return ch, fmt.Errorf("streams: record without stream data: %w", ErrInvalidRecord)
	}
	if sr.SequenceNumber != nil {
		ch.SequenceNumber = *sr.SequenceNumber
	}
	if sr.ApproximateCreationDateTime != nil {
		ch.ApproximateCreationTime = *sr.ApproximateCreationDateTime
	}
	ch.StreamViewType = sr.StreamViewType
	keys, err := image(sr.Keys)
	if err != nil {
		return ch, fmt.Errorf("streams: Keys: %w", err)
	}
	if len(keys) == 0 {
		return ch, fmt.Errorf("streams: record without keys: %w", ErrInvalidRecord)
	}
	ch.Keys = keys
	if err := checkShape(rec.EventName, sr); err != nil {
		return ch, err
	}
	if sr.NewImage == nil && sr.OldImage == nil {
		return ch, ErrKeysOnly
	}
	s := t.Schema()
	var newV, oldV *V
	for _, im := range []struct {
		name string
		img  map[string]types.AttributeValue
		dst  **V
	}{{"NewImage", sr.NewImage, &newV}, {"OldImage", sr.OldImage, &oldV}} {
		if im.img == nil {
			continue
		}
		img, err := image(im.img)
		if err != nil {
			return ch, fmt.Errorf("streams: %s: %w", im.name, err)
		}
		v, err := openImage(ctx, img)
		if err != nil {
			return ch, &ImageError{Image: im.name, Err: err}
		}
		if !sameKeys(keys, img, s.PartitionKey, s.SortKey) {
			return ch, &ImageError{Image: im.name, Err: fmt.Errorf("record keys differ from the image's: %w", table.ErrTampered)}
		}
		*im.dst = v
	}
	if sr.NewImage != nil && sr.OldImage != nil && !sameTenant(sr.NewImage, sr.OldImage, s.Tenant) {
		return ch, fmt.Errorf("streams: the record's images belong to different tenants: %w", table.ErrWrongTenant)
	}
	ch.New, ch.Old = newV, oldV
	return ch, nil
}

// sameTenant reports whether two verified images name the same tenant.
// Writes through a Scope never move an item to another tenant, but an
// unguarded batch write (table.WithUnguardedBatchWrite) of another
// tenant's item with the same key does, and a consumer must not file
// that change under either tenant unknowingly.
func sameTenant(a, b map[string]types.AttributeValue, attr string) bool {
	x, ok1 := a[attr].(*types.AttributeValueMemberS)
	y, ok2 := b[attr].(*types.AttributeValueMemberS)
	return ok1 && ok2 && x.Value == y.Value
}

// checkShape refuses images that the record's event and view type cannot
// have, and missing images the view type promises.
func checkShape(ev types.OperationType, sr *types.StreamRecord) error {
	hasNew, hasOld := sr.NewImage != nil, sr.OldImage != nil
	var wantNew, wantOld bool
	switch ev {
	case Insert, Modify, Remove:
	default:
		return fmt.Errorf("streams: unknown event name %q: %w", string(ev), ErrInvalidRecord)
	}
	switch sr.StreamViewType {
	case types.StreamViewTypeKeysOnly:
	case types.StreamViewTypeNewImage:
		wantNew = true
	case types.StreamViewTypeOldImage:
		wantOld = true
	case types.StreamViewTypeNewAndOldImages:
		wantNew, wantOld = true, true
	case "": // not stated: take the images present
		wantNew, wantOld = hasNew, hasOld
	default:
		return fmt.Errorf("streams: unknown stream view type %q: %w", string(sr.StreamViewType), ErrInvalidRecord)
	}
	// An INSERT has no before, a REMOVE no after.
	wantNew = wantNew && ev != Remove
	wantOld = wantOld && ev != Insert
	if hasNew != wantNew || hasOld != wantOld {
		return fmt.Errorf("streams: %s record of a %s stream with NewImage %t, OldImage %t: %w",
			string(ev), string(sr.StreamViewType), hasNew, hasOld, ErrInvalidRecord)
	}
	return nil
}

// sameKeys reports whether keys holds exactly the primary key attributes
// pk and sk (sk "" for none) of img, with the same values. Key attributes
// are scalars (S, N, B) and DynamoDB writes the same text for both.
func sameKeys(keys, img map[string]ddbtypes.AttributeValue, pk, sk string) bool {
	want := 1
	if sk != "" {
		want = 2
	}
	return len(keys) == want && sameScalar(keys[pk], img[pk]) && (sk == "" || sameScalar(keys[sk], img[sk]))
}

func sameScalar(a, b ddbtypes.AttributeValue) bool {
	switch x := a.(type) {
	case *ddbtypes.AttributeValueMemberS:
		y, ok := b.(*ddbtypes.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *ddbtypes.AttributeValueMemberN:
		y, ok := b.(*ddbtypes.AttributeValueMemberN)
		if !ok {
			return false
		}
		cx, err1 := attrcrypt.CanonicalNumber(x.Value)
		cy, err2 := attrcrypt.CanonicalNumber(y.Value)
		return err1 == nil && err2 == nil && cx == cy
	case *ddbtypes.AttributeValueMemberB:
		y, ok := b.(*ddbtypes.AttributeValueMemberB)
		return ok && bytes.Equal(x.Value, y.Value)
	}
	return false
}
