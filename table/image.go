package table

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// OpenImage verifies and opens one stored image of an item of this table
// that did not come from a call of this package: a DynamoDB Streams
// record's NewImage or OldImage (see package table/streams), an export, a
// backup. Like Scan it is an admin read across tenants: there is no caller
// tenant, so the key is the one the image's header names for the tenant in
// the image's own tenant attribute, and the image is verified under it
// exactly as Scan verifies one item (signature, table name, tenant, key
// reference, every attribute). Do not expose it to tenant requests.
//
// A failure is reported as Scan reports one item's: an *ItemError with the
// image's primary key (signed plaintext) wrapping ErrTampered for anything
// the image's own bytes cause (an edited, removed or added attribute, an
// image of another table or logical name, a header naming a key the tenant
// never had, an empty image, which names no tenant), ErrKeyShredded,
// ErrKeyRetired or ErrKeyDisabled when the key a genuine image names is in
// that state, ErrSchemaMismatch, ErrDecode, or the key provider's error.
// No error contains an attribute value. image is not modified.
func (t *Table[T]) OpenImage(ctx context.Context, image map[string]types.AttributeValue) (*T, error) {
	v, err := t.open(ctx, "", image)
	if err != nil {
		return nil, &ItemError{Key: t.keyOfItem(image), Err: err}
	}
	return v, nil
}

// OpenImageItem is OpenImage for readers without T: it verifies the image
// under the actions recorded in its header (attrcrypt's OpenRecorded), not
// the table's schema, and returns the decrypted attributes without the
// reserved header and signature, as a new map. Every attribute the writer
// sealed comes back, including ones the running program's schema does not
// know; attributes the writer marked plain are returned as stored
// (unverified, as their writer asked). Only the table's logical name,
// tenant attribute and key class of this handle matter. Errors are
// OpenImage's.
func (t *Table[T]) OpenImageItem(ctx context.Context, image map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	m, err := t.openRecorded(ctx, image)
	if err != nil {
		if errors.Is(err, ErrTampered) {
			t.obs.tampered(ctx)
		}
		return nil, &ItemError{Key: t.keyOfItem(image), Err: err}
	}
	return m, nil
}

func (t *Table[T]) openRecorded(ctx context.Context, image map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	_, key, err := t.itemKey(ctx, "", image)
	if err != nil {
		return nil, err
	}
	m, err := t.sealer.OpenRecorded(image, key)
	key.Zero()
	if err != nil {
		return nil, fmt.Errorf("table: open: %w", err)
	}
	return m, nil
}
