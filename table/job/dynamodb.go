package job

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// DynamoDBClient is the part of the DynamoDB client DynamoDBCheckpoints
// uses; *dynamodb.Client implements it.
type DynamoDBClient interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Attribute names of a checkpoint item.
const (
	ckJob      = "job"
	ckSegment  = "segment"
	ckPass     = "pass"
	ckSegments = "segments"
	ckNext     = "next"
	ckScanned  = "scanned"
	ckCounts   = "counts"
	ckDone     = "done"
	ckSeq      = "seq"
)

// DynamoDBCheckpoints stores checkpoints in a DynamoDB table, one item per
// job and segment (partition key "job", S; sort key "segment", N; see
// CheckpointTableInput). Loads are strongly consistent and every save is
// conditioned on the sequence the worker loaded, so two workers running
// the same segment (on any machines) cannot both advance it: the loser
// gets ErrCheckpointConflict.
type DynamoDBCheckpoints struct {
	client DynamoDBClient
	table  string
}

// NewDynamoDBCheckpoints returns checkpoints kept in the table tableName.
func NewDynamoDBCheckpoints(client DynamoDBClient, tableName string) *DynamoDBCheckpoints {
	return &DynamoDBCheckpoints{client: client, table: tableName}
}

// CheckpointTableInput is the CreateTable request of a checkpoint table
// named name (on-demand capacity).
func CheckpointTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(ckJob), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(ckSegment), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(ckJob), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(ckSegment), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

func ckKey(jobID string, segment int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		ckJob:     &types.AttributeValueMemberS{Value: jobID},
		ckSegment: &types.AttributeValueMemberN{Value: strconv.Itoa(segment)},
	}
}

// storeError classifies a DynamoDB failure of the checkpoint store. An API
// error keeps its code only: its message is DynamoDB's text.
func storeError(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%w: %s: %s", ErrCheckpointStore, op, ae.ErrorCode())
	}
	return fmt.Errorf("%w: %s: %w", ErrCheckpointStore, op, err)
}

// Load implements Checkpointer.
func (d *DynamoDBCheckpoints) Load(ctx context.Context, jobID string, segment int) (State, bool, error) {
	if err := ValidJobID(jobID); err != nil {
		return State{}, false, err
	}
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.table), Key: ckKey(jobID, segment), ConsistentRead: aws.Bool(true)})
	if err != nil {
		if ctx.Err() != nil {
			return State{}, false, ctx.Err()
		}
		return State{}, false, storeError("GetItem", err)
	}
	if out.Item == nil {
		return State{}, false, nil
	}
	st, err := decodeState(out.Item)
	if err != nil {
		return State{}, false, err
	}
	return st, true, nil
}

func decodeState(it map[string]types.AttributeValue) (State, error) {
	bad := func(attr string) error { return fmt.Errorf("%w: attribute %q", ErrCheckpointCorrupt, attr) }
	num := func(attr string) (int64, error) {
		n, ok := it[attr].(*types.AttributeValueMemberN)
		if !ok {
			return 0, bad(attr)
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil || v < 0 {
			return 0, bad(attr)
		}
		return v, nil
	}
	var st State
	p, ok := it[ckPass].(*types.AttributeValueMemberS)
	if !ok {
		return st, bad(ckPass)
	}
	st.Pass = p.Value
	segs, err := num(ckSegments)
	if err != nil {
		return st, err
	}
	st.Segments = int(segs)
	if st.Scanned, err = num(ckScanned); err != nil {
		return st, err
	}
	seq, err := num(ckSeq)
	if err != nil {
		return st, err
	}
	st.Seq = uint64(seq)
	switch v := it[ckNext].(type) {
	case nil:
	case *types.AttributeValueMemberB:
		st.Next = v.Value
	default:
		return st, bad(ckNext)
	}
	if b, ok := it[ckDone].(*types.AttributeValueMemberBOOL); ok {
		st.Done = b.Value
	} else {
		return st, bad(ckDone)
	}
	st.Counts = Counts{}
	if m, ok := it[ckCounts].(*types.AttributeValueMemberM); ok {
		for k, av := range m.Value {
			n, ok := av.(*types.AttributeValueMemberN)
			if !ok {
				return st, bad(ckCounts)
			}
			v, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return st, bad(ckCounts)
			}
			st.Counts[k] = v
		}
	} else {
		return st, bad(ckCounts)
	}
	return st, nil
}

// Save implements Checkpointer.
func (d *DynamoDBCheckpoints) Save(ctx context.Context, jobID string, segment int, st *State) error {
	if err := ValidJobID(jobID); err != nil {
		return err
	}
	counts := make(map[string]types.AttributeValue, len(st.Counts))
	for k, v := range st.Counts {
		counts[k] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	item := ckKey(jobID, segment)
	item[ckPass] = &types.AttributeValueMemberS{Value: st.Pass}
	item[ckSegments] = &types.AttributeValueMemberN{Value: strconv.Itoa(st.Segments)}
	item[ckScanned] = &types.AttributeValueMemberN{Value: strconv.FormatInt(st.Scanned, 10)}
	item[ckSeq] = &types.AttributeValueMemberN{Value: strconv.FormatUint(st.Seq+1, 10)}
	item[ckDone] = &types.AttributeValueMemberBOOL{Value: st.Done}
	item[ckCounts] = &types.AttributeValueMemberM{Value: counts}
	if len(st.Next) > 0 {
		item[ckNext] = &types.AttributeValueMemberB{Value: st.Next}
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(d.table), Item: item,
		ExpressionAttributeNames:            map[string]string{"#j": ckJob},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	if st.Seq == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#j)")
	} else {
		in.ConditionExpression = aws.String("#s = :s")
		in.ExpressionAttributeNames["#s"] = ckSeq
		delete(in.ExpressionAttributeNames, "#j")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":s": &types.AttributeValueMemberN{Value: strconv.FormatUint(st.Seq, 10)}}
	}
	_, err := d.client.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && resentOwn(ccf.Item, st):
		// The SDK resent our write after a lost answer: the stored
		// checkpoint is the one we wrote.
	case errors.As(err, &ccf):
		return fmt.Errorf("%w: job %q segment %d", ErrCheckpointConflict, jobID, segment)
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return storeError("PutItem", err)
	}
	st.Seq++
	return nil
}

// resentOwn reports whether stored is the checkpoint a Save of st wrote
// (a resend after a lost answer found the first attempt applied).
func resentOwn(stored map[string]types.AttributeValue, st *State) bool {
	if stored == nil {
		return false
	}
	got, err := decodeState(stored)
	return err == nil && got.Seq == st.Seq+1 && got.Pass == st.Pass && got.Scanned == st.Scanned &&
		got.Done == st.Done && string(got.Next) == string(st.Next)
}
