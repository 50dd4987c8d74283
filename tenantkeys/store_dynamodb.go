package tenantkeys

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the aws-sdk-go-v2 DynamoDB client the key store
// uses; *dynamodb.Client satisfies it.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Key store table attribute names; see the package documentation.
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrVersion  = "version"
	attrWrapped  = "wrapped"
	attrKMSKey   = "kmsKeyId"
	attrCreated  = "created"
	attrDisabled = "disabled"
	attrEpoch    = "epoch"
	attrShredded = "shredded"
	attrComplete = "complete"
	attrReopened = "reopened"
	attrFloor    = "floor"
	attrTag      = "tag"

	skTombstone = "X"
)

func skPointer(class string) string { return "P#" + class }
func skVersion(class string, v uint32) string {
	return fmt.Sprintf("V#%s#%010d", class, v)
}

// CreateTableInput returns the CreateTable request for a key store table
// named name: partition key "pk" (S), sort key "sk" (S), on-demand
// capacity. Add point-in-time recovery, deletion protection and tags as your
// environment requires (note that backups keep shredded keys until they
// expire).
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

// CreateTable creates the key store table and waits up to maxWait until it
// is active. The client needs dynamodb:CreateTable and DescribeTable.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string, maxWait time.Duration) error {
	if _, err := client.CreateTable(ctx, CreateTableInput(name)); err != nil {
		return fmt.Errorf("%w: create key store table %s: %w", ErrKeyStoreUnavailable, name, newSDKError("DynamoDB", "CreateTable", err))
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, maxWait); err != nil {
		return fmt.Errorf("%w: wait for key store table %s: %w", ErrKeyStoreUnavailable, name, newSDKError("DynamoDB", "DescribeTable", err))
	}
	return nil
}

// NewDynamoDBStore returns a Store over the key store table named table
// (see CreateTableInput for its schema), wrapping tenant keys with w.
//
// Rights an application role needs for Provider calls: dynamodb:GetItem on
// the table (reads use TransactGetItems, which DynamoDB authorizes as
// GetItem) and the wrapper's unwrap right (kms:Decrypt). With
// WithCreateOnFirstUse it also needs PutItem, ConditionCheckItem and
// kms:GenerateDataKey.
func NewDynamoDBStore(client DynamoDBAPI, table string, w Wrapper, opts ...Option) *Store {
	return newStore(&ddbBackend{c: client, table: table}, w, table, opts)
}

type ddbBackend struct {
	c     DynamoDBAPI
	table string
}

func sAttr(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func nAttr(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func bAttr(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

func itemKey(tenant, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: sAttr(tenant), attrSK: sAttr(sk)}
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, tamperedf("key store item lacks number %q", name)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, tamperedf("key store attribute %q is not an integer", name)
	}
	return n, nil
}

func getBool(item map[string]types.AttributeValue, name string) bool {
	v, ok := item[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func getVersion(item map[string]types.AttributeValue) (uint32, error) {
	n, err := getN(item, attrVersion)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > int64(^uint32(0)) {
		return 0, tamperedf("key store version out of range")
	}
	return uint32(n), nil
}

func getWrapped(item map[string]types.AttributeValue) (Wrapped, error) {
	b, ok := item[attrWrapped].(*types.AttributeValueMemberB)
	if !ok {
		return Wrapped{}, tamperedf("key store item lacks the wrapped key")
	}
	return Wrapped{KeyID: getS(item, attrKMSKey), Blob: b.Value}, nil
}

func parseTomb(item map[string]types.AttributeValue) (*tombstone, error) {
	if len(item) == 0 {
		return nil, nil
	}
	t := &tombstone{complete: getBool(item, attrComplete), reopened: getBool(item, attrReopened), floor: map[string]uint32{}}
	var err error
	if t.epoch, err = getN(item, attrEpoch); err != nil {
		return nil, err
	}
	if ms, err := getN(item, attrShredded); err == nil {
		t.shredded = time.UnixMilli(ms)
	}
	if m, ok := item[attrFloor].(*types.AttributeValueMemberM); ok {
		for c, v := range m.Value {
			n, ok := v.(*types.AttributeValueMemberN)
			if !ok {
				return nil, tamperedf("tombstone floor is malformed")
			}
			x, err := strconv.ParseUint(n.Value, 10, 32)
			if err != nil {
				return nil, tamperedf("tombstone floor is malformed")
			}
			if c == DefaultClassLabel { // "" cannot be a DynamoDB map key
				c = ""
			}
			t.floor[c] = uint32(x)
		}
	}
	return t, nil
}

func getTag(item map[string]types.AttributeValue) []byte {
	if b, ok := item[attrTag].(*types.AttributeValueMemberB); ok {
		return b.Value
	}
	return nil
}

func parsePointer(item map[string]types.AttributeValue) (*pointer, error) {
	if len(item) == 0 {
		return nil, nil
	}
	v, err := getVersion(item)
	if err != nil {
		return nil, err
	}
	w, err := getWrapped(item)
	if err != nil {
		return nil, err
	}
	p := &pointer{version: v, disabled: getBool(item, attrDisabled), wrapped: w, tag: getTag(item)}
	if _, ok := item[attrFloor]; ok {
		f, err := getN(item, attrFloor)
		if err != nil || f < 0 || f > int64(^uint32(0)) {
			return nil, tamperedf("key store pointer floor out of range")
		}
		p.floor = uint32(f)
	}
	return p, nil
}

func parseVersion(class string, item map[string]types.AttributeValue) (*versionRec, error) {
	if len(item) == 0 {
		return nil, nil
	}
	v, err := getVersion(item)
	if err != nil {
		return nil, err
	}
	w, err := getWrapped(item)
	if err != nil {
		return nil, err
	}
	rec := &versionRec{class: class, version: v, wrapped: w, disabled: getBool(item, attrDisabled), tag: getTag(item)}
	if ms, err := getN(item, attrCreated); err == nil {
		rec.created = time.UnixMilli(ms)
	}
	return rec, nil
}

func pointerItem(tenant, class string, p pointer) map[string]types.AttributeValue {
	item := itemKey(tenant, skPointer(class))
	item[attrVersion] = nAttr(int64(p.version))
	item[attrWrapped] = &types.AttributeValueMemberB{Value: p.wrapped.Blob}
	item[attrKMSKey] = sAttr(p.wrapped.KeyID)
	item[attrDisabled] = bAttr(p.disabled)
	item[attrFloor] = nAttr(int64(p.floor))
	if len(p.tag) > 0 {
		item[attrTag] = &types.AttributeValueMemberB{Value: p.tag}
	}
	return item
}

func versionItem(tenant string, v versionRec) map[string]types.AttributeValue {
	item := itemKey(tenant, skVersion(v.class, v.version))
	item[attrVersion] = nAttr(int64(v.version))
	item[attrWrapped] = &types.AttributeValueMemberB{Value: v.wrapped.Blob}
	item[attrKMSKey] = sAttr(v.wrapped.KeyID)
	item[attrCreated] = nAttr(v.created.UnixMilli())
	if v.disabled {
		item[attrDisabled] = bAttr(true)
	}
	if len(v.tag) > 0 {
		item[attrTag] = &types.AttributeValueMemberB{Value: v.tag}
	}
	return item
}

// sameRecordCond is the condition of a compare-and-swap on a pointer or
// version record: it still holds version, blob and tag as read.
func sameRecordCond(version uint32, w Wrapped, tag []byte) (string, map[string]string, map[string]types.AttributeValue) {
	names := map[string]string{"#v": attrVersion, "#w": attrWrapped, "#t": attrTag}
	vals := map[string]types.AttributeValue{
		":v": nAttr(int64(version)),
		":w": &types.AttributeValueMemberB{Value: w.Blob},
	}
	cond := "#v = :v AND #w = :w AND attribute_not_exists(#t)"
	if len(tag) > 0 {
		cond = "#v = :v AND #w = :w AND #t = :t"
		vals[":t"] = &types.AttributeValueMemberB{Value: tag}
	}
	return cond, names, vals
}

func (b *ddbBackend) replace(ctx context.Context, item map[string]types.AttributeValue, version uint32, old Wrapped, oldTag []byte) error {
	cond, names, vals := sameRecordCond(version, old, oldTag)
	_, err := b.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String(b.table), Item: item, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	}}}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		if cerr := cancelError(tce); cerr != nil {
			return cerr
		}
		return fmt.Errorf("%w: key store record changed concurrently", ErrConflict)
	}
	if err != nil {
		return b.ddbError("write", err)
	}
	return nil
}

func (b *ddbBackend) replacePointer(ctx context.Context, tenant, class string, old, new pointer) error {
	return b.replace(ctx, pointerItem(tenant, class, new), old.version, old.wrapped, old.tag)
}

func (b *ddbBackend) replaceVersion(ctx context.Context, tenant string, old, new versionRec) error {
	return b.replace(ctx, versionItem(tenant, new), old.version, old.wrapped, old.tag)
}

func (b *ddbBackend) deleteVersions(ctx context.Context, tenant, class string, versions []uint32) error {
	keys := make([]map[string]types.AttributeValue, 0, len(versions))
	for _, v := range versions {
		keys = append(keys, itemKey(tenant, skVersion(class, v)))
	}
	if err := b.deleteKeys(ctx, keys); err != nil {
		return fmt.Errorf("tenantkeys: retire %q class %q incomplete (run Retire again): %w", tenant, classLabel(class), err)
	}
	return nil
}

// deleteKeys deletes items in batches of 25, resending unprocessed ones.
func (b *ddbBackend) deleteKeys(ctx context.Context, keys []map[string]types.AttributeValue) error {
	for len(keys) > 0 {
		n := min(25, len(keys))
		reqs := make([]types.WriteRequest, 0, n)
		for _, k := range keys[:n] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		}
		keys = keys[n:]
		pending := map[string][]types.WriteRequest{b.table: reqs}
		for attempt := 0; len(pending[b.table]) > 0; attempt++ {
			if attempt > 0 {
				if err := sleepCtx(ctx, time.Duration(min(attempt, 8))*50*time.Millisecond); err != nil {
					return err
				}
			}
			out, err := b.c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return b.ddbError("delete", err)
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// ddbError classifies DynamoDB failures: a concurrent transaction is a
// conflict; anything else (unreachable, throttled, missing table, server
// error) makes the key store unavailable, and a refusal by IAM is also
// access denied. Service messages are not part of the error string.
func (b *ddbBackend) ddbError(op string, err error) error {
	e := newSDKError("DynamoDB", op, err)
	if isCtxErr(err) {
		return fmt.Errorf("tenantkeys: key store %s: %w", op, err)
	}
	var tce *types.TransactionConflictException
	if errors.As(err, &tce) {
		return fmt.Errorf("%w: key store: %w", ErrConflict, e)
	}
	if strings.HasPrefix(e.code, "AccessDenied") || e.code == "UnrecognizedClientException" {
		return fmt.Errorf("%w: %w: key store: %w", ErrKeyStoreUnavailable, ErrAccessDenied, e)
	}
	return fmt.Errorf("%w: key store table %s: %w", ErrKeyStoreUnavailable, b.table, e)
}

func (b *ddbBackend) read(ctx context.Context, tenant, class string, version uint32) (snapshot, error) {
	gets := []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String(b.table), Key: itemKey(tenant, skTombstone)}},
		{Get: &types.Get{TableName: aws.String(b.table), Key: itemKey(tenant, skPointer(class))}},
	}
	if version != 0 {
		gets = append(gets, types.TransactGetItem{Get: &types.Get{TableName: aws.String(b.table), Key: itemKey(tenant, skVersion(class, version))}})
	}
	var out *dynamodb.TransactGetItemsOutput
	var err error
	for attempt := 0; ; attempt++ {
		out, err = b.c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: gets})
		var tce *types.TransactionCanceledException
		if err == nil || !errors.As(err, &tce) || attempt >= 4 {
			break
		}
		// A concurrent transactional write on these items; retry shortly.
		if serr := sleepCtx(ctx, time.Duration(attempt+1)*10*time.Millisecond); serr != nil {
			return snapshot{}, serr
		}
	}
	if err != nil {
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) {
			return snapshot{}, fmt.Errorf("%w: key store read kept colliding with writes", ErrConflict)
		}
		return snapshot{}, b.ddbError("read", err)
	}
	if len(out.Responses) != len(gets) {
		return snapshot{}, fmt.Errorf("%w: key store read returned %d of %d items", ErrKeyStoreUnavailable, len(out.Responses), len(gets))
	}
	var snap snapshot
	if snap.tomb, err = parseTomb(out.Responses[0].Item); err != nil {
		return snapshot{}, err
	}
	if snap.ptr, err = parsePointer(out.Responses[1].Item); err != nil {
		return snapshot{}, err
	}
	if version != 0 {
		if snap.ver, err = parseVersion(class, out.Responses[2].Item); err != nil {
			return snapshot{}, err
		}
	}
	return snap, nil
}

func (b *ddbBackend) advance(ctx context.Context, tenant, class string, from *pointer, rec versionRec, ptr pointer, tomb *tombstone) error {
	ptrPut := &types.Put{
		TableName:           aws.String(b.table),
		Item:                pointerItem(tenant, class, ptr),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
	fromVersion := uint32(0)
	if from != nil {
		fromVersion = from.version
		cond, names, vals := sameRecordCond(from.version, from.wrapped, from.tag)
		ptrPut.ConditionExpression = aws.String(cond)
		ptrPut.ExpressionAttributeNames, ptrPut.ExpressionAttributeValues = names, vals
	}
	tombCheck := &types.ConditionCheck{
		TableName:           aws.String(b.table),
		Key:                 itemKey(tenant, skTombstone),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
	if tomb != nil {
		tombCheck.ConditionExpression = aws.String("#e = :e AND #r = :t")
		tombCheck.ExpressionAttributeNames = map[string]string{"#e": attrEpoch, "#r": attrReopened}
		tombCheck.ExpressionAttributeValues = map[string]types.AttributeValue{":e": nAttr(tomb.epoch), ":t": bAttr(true)}
	}
	_, err := b.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(b.table), Item: versionItem(tenant, rec), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: ptrPut},
		{ConditionCheck: tombCheck},
	}})
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		r := tce.CancellationReasons
		failed := func(i int) bool { return i < len(r) && aws.ToString(r[i].Code) == "ConditionalCheckFailed" }
		switch {
		case failed(2):
			return fmt.Errorf("%w: tenant %q was shredded", ErrKeyShredded, tenant)
		case failed(0), failed(1):
			return fmt.Errorf("%w: tenant %q class %q moved on from version %d", ErrConflict, tenant, classLabel(class), fromVersion)
		}
		if err := cancelError(tce); err != nil {
			return err
		}
	}
	return b.ddbError("write", err)
}

// cancelError classifies a cancelled transaction by its reasons: a
// concurrent transaction is a conflict, throttling makes the key store
// unavailable; nil for other reasons.
func cancelError(tce *types.TransactionCanceledException) error {
	for _, reason := range tce.CancellationReasons {
		switch aws.ToString(reason.Code) {
		case "TransactionConflict":
			return fmt.Errorf("%w: key store: concurrent transaction", ErrConflict)
		case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			return fmt.Errorf("%w: key store write throttled", ErrKeyStoreUnavailable)
		}
	}
	return nil
}

func (b *ddbBackend) list(ctx context.Context, tenant string) (listing, error) {
	l := listing{pointers: make(map[string]pointer)}
	p := dynamodb.NewQueryPaginator(b.c, &dynamodb.QueryInput{
		TableName:                 aws.String(b.table),
		KeyConditionExpression:    aws.String("pk = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": sAttr(tenant)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return listing{}, b.ddbError("query", err)
		}
		for _, item := range page.Items {
			sk := getS(item, attrSK)
			switch {
			case sk == skTombstone:
				t, err := parseTomb(item)
				if err != nil {
					return listing{}, err
				}
				l.tomb = t
			case strings.HasPrefix(sk, "P#"):
				ptr, err := parsePointer(item)
				if err != nil {
					return listing{}, err
				}
				l.pointers[sk[2:]] = *ptr
			case strings.HasPrefix(sk, "V#"):
				rest := sk[2:]
				i := strings.LastIndexByte(rest, '#')
				if i < 0 {
					return listing{}, tamperedf("key store sort key %q", sk)
				}
				rec, err := parseVersion(rest[:i], item)
				if err != nil {
					return listing{}, err
				}
				l.versions = append(l.versions, *rec)
			}
		}
	}
	return l, nil
}

func (b *ddbBackend) shred(ctx context.Context, tenant string, now time.Time) error {
	// 1. Tombstone first: from here on no create or rotate can commit and
	// every read answers ErrKeyShredded.
	out, err := b.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(b.table),
		Key:              itemKey(tenant, skTombstone),
		UpdateExpression: aws.String("SET #s = :now, #c = :f, #r = :f, #fl = if_not_exists(#fl, :empty) ADD #e :one"),
		ExpressionAttributeNames: map[string]string{
			"#s": attrShredded, "#c": attrComplete, "#r": attrReopened, "#fl": attrFloor, "#e": attrEpoch,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":   nAttr(now.UnixMilli()),
			":f":     bAttr(false),
			":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
			":one":   nAttr(1),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return b.ddbError("shred", err)
	}
	tomb, err := parseTomb(out.Attributes)
	if err != nil {
		return err
	}
	// 2. Find and delete every version and pointer.
	l, err := b.list(ctx, tenant)
	if err != nil {
		return err
	}
	maxima := make(map[string]uint32)
	var keys []map[string]types.AttributeValue
	for _, v := range l.versions {
		maxima[v.class] = max(maxima[v.class], v.version)
		keys = append(keys, itemKey(tenant, skVersion(v.class, v.version)))
	}
	for c, p := range l.pointers {
		maxima[c] = max(maxima[c], p.version)
		keys = append(keys, itemKey(tenant, skPointer(c)))
	}
	// 3. Record the highest destroyed version per class before deleting,
	// so a reopened tenant's new versions never reuse a destroyed number.
	if err := b.raiseFloor(ctx, tenant, maxima); err != nil {
		return err
	}
	if err := b.deleteKeys(ctx, keys); err != nil {
		return fmt.Errorf("tenantkeys: shred %q incomplete (tenant already unreadable; run Shred again): %w", tenant, err)
	}
	// 4. Only now may the tenant be reopened.
	return b.markComplete(ctx, tenant, tomb.epoch)
}

// raiseFloor merges maxima into the tombstone's floor, never lowering it.
func (b *ddbBackend) raiseFloor(ctx context.Context, tenant string, maxima map[string]uint32) error {
	for class, v := range maxima {
		_, err := b.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(b.table),
			Key:                       itemKey(tenant, skTombstone),
			UpdateExpression:          aws.String("SET #fl.#k = :v"),
			ConditionExpression:       aws.String("attribute_not_exists(#fl.#k) OR #fl.#k < :v"),
			ExpressionAttributeNames:  map[string]string{"#fl": attrFloor, "#k": classLabel(class)},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": nAttr(int64(v))},
		})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) { // ccf: already at least as high
			return b.ddbError("shred", err)
		}
	}
	return nil
}

// markComplete records that the shred of epoch deleted everything it
// listed. A newer shred (another epoch) marks its own completion.
func (b *ddbBackend) markComplete(ctx context.Context, tenant string, epoch int64) error {
	_, err := b.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(b.table),
		Key:                       itemKey(tenant, skTombstone),
		UpdateExpression:          aws.String("SET #c = :t"),
		ConditionExpression:       aws.String("#e = :e"),
		ExpressionAttributeNames:  map[string]string{"#c": attrComplete, "#e": attrEpoch},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": bAttr(true), ":e": nAttr(epoch)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return b.ddbError("shred", err)
	}
	return nil
}

func (b *ddbBackend) reopen(ctx context.Context, tenant string) error {
	_, err := b.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(b.table),
		Key:                       itemKey(tenant, skTombstone),
		UpdateExpression:          aws.String("SET #r = :t"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #c = :t"),
		ExpressionAttributeNames:  map[string]string{"#r": attrReopened, "#c": attrComplete},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": bAttr(true)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		snap, rerr := b.read(ctx, tenant, "", 0)
		if rerr == nil && snap.tomb != nil {
			return fmt.Errorf("%w: tenant %q: shred still in progress; run Shred again first", ErrConflict, tenant)
		}
		return fmt.Errorf("%w: tenant %q was not shredded", ErrKeyNotFound, tenant)
	}
	if err != nil {
		return b.ddbError("reopen", err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
