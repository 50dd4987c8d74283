package table_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dynaseal/dynaseal/table"
)

// opErr returns the TxError's error of op i, failing the test if err is
// not a *TxError.
func opErr(t *testing.T, err error, i int) error {
	t.Helper()
	var te *table.TxError
	if !errors.As(err, &te) {
		t.Fatalf("%v: not a *TxError", err)
	}
	if i >= len(te.Ops) {
		t.Fatalf("%v: %d ops reported, want op %d", err, len(te.Ops), i)
	}
	return te.Ops[i]
}

// TestTxErrorPerOp: each failed op of a cancelled transaction reports its
// own cause, told apart from the stored item DynamoDB returns: a condition
// check on a missing item, a version race, another tenant's item, a gone
// update target and an existing create target; ops that were fine are nil.
func TestTxErrorPerOp(t *testing.T) {
	e := newEnv(t)
	pt, _ := patients(t, e)
	dt, _ := docs(t, e)
	ctx := context.Background()
	ps, da, db := pt.For("tenant-a"), dt.For("tenant-a"), dt.For("tenant-b")
	p := &Patient{Tenant: "tenant-a", ID: "p1", Name: "Ada"}
	if err := ps.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := da.Put(ctx, &Doc{PK: "x", SK: "d1", Org: "tenant-a", Body: "secret-body"}); err != nil {
		t.Fatal(err)
	}
	dk := table.Key{PK: table.S("x"), SK: table.S("d1")}
	fine := &Doc{PK: "x", SK: "fine", Org: "tenant-a"}

	t.Run("ConditionCheckMissing", func(t *testing.T) {
		err := table.TransactWrite(ctx, e.c, da.TxPut(fine), ps.TxConditionCheck(sk("nobody")))
		if op := opErr(t, err, 1); !errors.Is(op, table.ErrConditionFailed) || !errors.Is(op, table.ErrNotFound) || errors.Is(op, table.ErrConflict) {
			t.Fatalf("op 1: %v, want ErrConditionFailed and ErrNotFound, not ErrConflict", op)
		}
		if op := opErr(t, err, 0); op != nil {
			t.Fatalf("op 0 did not fail but reports %v", op)
		}
		if !errors.Is(err, table.ErrConditionFailed) || !errors.Is(err, table.ErrNotFound) || errors.Is(err, table.ErrConflict) || errors.Is(err, table.ErrWrongTenant) {
			t.Fatalf("TxError: %v, want ErrConditionFailed and ErrNotFound only", err)
		}
	})
	t.Run("ConditionCheckVersion", func(t *testing.T) {
		err := table.TransactWrite(ctx, e.c, ps.TxConditionCheck(sk("p1"), table.IfVersion(7)))
		if op := opErr(t, err, 0); !errors.Is(op, table.ErrConditionFailed) || !errors.Is(op, table.ErrConflict) || errors.Is(op, table.ErrNotFound) {
			t.Fatalf("op 0: %v, want ErrConditionFailed and ErrConflict", op)
		}
	})
	t.Run("ConditionCheckWrongTenant", func(t *testing.T) {
		err := table.TransactWrite(ctx, e.c, db.TxConditionCheck(dk))
		if op := opErr(t, err, 0); !errors.Is(op, table.ErrConditionFailed) || !errors.Is(op, table.ErrWrongTenant) || errors.Is(op, table.ErrNotFound) {
			t.Fatalf("op 0: %v, want ErrConditionFailed and ErrWrongTenant", op)
		}
		if strings.Contains(err.Error(), "secret-body") || strings.Contains(err.Error(), "tenant-a") {
			t.Fatalf("error quotes the stored item: %v", err)
		}
	})
	t.Run("VersionRace", func(t *testing.T) {
		stale := *p                            // read at version 1
		if err := ps.Put(ctx, p); err != nil { // p moves to version 2
			t.Fatal(err)
		}
		err := table.TransactWrite(ctx, e.c, da.TxPut(fine), ps.TxPut(&stale))
		if op := opErr(t, err, 1); !errors.Is(op, table.ErrConflict) || errors.Is(op, table.ErrConditionFailed) || errors.Is(op, table.ErrNotFound) {
			t.Fatalf("op 1: %v, want ErrConflict only", op)
		}
		if stale.Version != 1 {
			t.Fatalf("version of a cancelled TxPut changed: %d", stale.Version)
		}
	})
	t.Run("PutWrongTenant", func(t *testing.T) {
		err := table.TransactWrite(ctx, e.c, db.TxPut(&Doc{PK: "x", SK: "d1", Org: "tenant-b"}))
		if op := opErr(t, err, 0); !errors.Is(op, table.ErrWrongTenant) || errors.Is(op, table.ErrConflict) {
			t.Fatalf("op 0: %v, want ErrWrongTenant", op)
		}
	})
	t.Run("DeleteWrongTenant", func(t *testing.T) {
		err := table.TransactWrite(ctx, e.c, db.TxDelete(dk))
		if !errors.Is(opErr(t, err, 0), table.ErrWrongTenant) {
			t.Fatalf("%v, want ErrWrongTenant", err)
		}
	})
	t.Run("DeleteMustExistMissing", func(t *testing.T) {
		err := table.TransactWrite(ctx, e.c, ps.TxDelete(sk("nobody"), table.MustExist()))
		if op := opErr(t, err, 0); !errors.Is(op, table.ErrNotFound) || errors.Is(op, table.ErrConditionFailed) {
			t.Fatalf("op 0: %v, want ErrNotFound", op)
		}
	})
	t.Run("UpdateTargetGone", func(t *testing.T) {
		// The update reads p2, then p2 is deleted before the transaction is
		// sent: the update's condition fails on a missing item.
		p2 := &Patient{Tenant: "tenant-a", ID: "p2"}
		if err := ps.Create(ctx, p2); err != nil {
			t.Fatal(err)
		}
		err := table.TransactWrite(ctx, e.c, ps.TxUpdate(sk("p2"), func(v *Patient) error {
			return ps.Delete(ctx, sk("p2"))
		}))
		if op := opErr(t, err, 0); !errors.Is(op, table.ErrNotFound) || errors.Is(op, table.ErrConflict) {
			t.Fatalf("op 0: %v, want ErrNotFound", op)
		}
	})
	t.Run("UpdateRace", func(t *testing.T) {
		err := table.TransactWrite(ctx, e.c, ps.TxUpdate(sk("p1"), func(v *Patient) error {
			cur, err := ps.Get(ctx, sk("p1"))
			if err != nil {
				return err
			}
			return ps.Put(ctx, cur)
		}))
		if op := opErr(t, err, 0); !errors.Is(op, table.ErrConflict) || errors.Is(op, table.ErrNotFound) {
			t.Fatalf("op 0: %v, want ErrConflict", op)
		}
	})
	t.Run("CreateExists", func(t *testing.T) {
		err := table.TransactWrite(ctx, e.c, da.TxPut(fine), ps.TxCreate(&Patient{Tenant: "tenant-a", ID: "p1"}), ps.TxConditionCheck(sk("nobody")))
		var te *table.TxError
		if !errors.As(err, &te) || te.Ops[0] != nil || !errors.Is(te.Ops[1], table.ErrAlreadyExists) || !errors.Is(te.Ops[2], table.ErrConditionFailed) {
			t.Fatalf("%v, want op 1 ErrAlreadyExists and op 2 ErrConditionFailed", err)
		}
		if te.Reasons[1] != "ConditionalCheckFailed" || te.Reasons[0] != "" {
			t.Fatalf("Reasons: %q", te.Reasons)
		}
		var oe *table.TxOpError
		if !errors.As(te.Ops[2], &oe) || oe.Index != 2 || oe.Code != "ConditionalCheckFailed" {
			t.Fatalf("op 2: %#v", te.Ops[2])
		}
	})
	if _, err := da.Get(ctx, table.Key{PK: table.S("x"), SK: table.S("fine")}); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("an op of a cancelled transaction was written: %v", err)
	}
}
