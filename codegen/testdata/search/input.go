package search

import "time"

// Member covers the search methods: a signed unique handle without a
// beacon (GetByHandle), an encrypted phone with a 24-bit beacon and its
// index (FindByPhone), an encrypted number that has both a beacon and a
// unique constraint (FindByCard, GetByCard), a compound of a signed number
// and a beacon under the tenant as partition key (FindByTierPhone), and a
// declared index on signed attributes with a string-encoded time as sort
// key (QueryByTier).
type Member struct {
	Club   string    `dynamodbav:"club" seal:"pk,tenant"`
	ID     string    `dynamodbav:"id" seal:"sk"`
	Handle string    `dynamodbav:"handle" seal:"unique,lower"`
	Phone  string    `dynamodbav:"phone" seal:"encrypt,beacon=24,trim,index=phone-index"`
	Card   int64     `dynamodbav:"card" seal:"encrypt,beacon,unique,index=byCard"`
	Tier   int       `dynamodbav:"tier"`
	Joined time.Time `dynamodbav:"joined"`
	_      struct{}  `seal:"compound=tierPhone,parts=tier+phone"`
	_      struct{}  `seal:"index=byTierPhone,pk=club,sk=tierPhone"`
	_      struct{}  `seal:"index=byTier,pk=tier,sk=joined"`
}

// Entry has a composite key whose partition is not the tenant, so its
// repository also takes EntryKey structs, and an index on a plain
// attribute without a sort key.
type Entry struct {
	Ledger string `dynamodbav:"ledger" seal:"pk"`
	Seq    uint32 `dynamodbav:"seq" seal:"sk"`
	Org    string `dynamodbav:"org" seal:"tenant"`
	Kind   string `dynamodbav:"kind,omitempty" seal:"plain,index=kind"`
	Memo   string `dynamodbav:"memo" seal:"encrypt"`
}
