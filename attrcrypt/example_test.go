package attrcrypt_test

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

func Example() {
	s, err := attrcrypt.NewSealer(attrcrypt.Config{
		Table:           "patients",
		TenantAttribute: "tenant",
		Actions: map[string]attrcrypt.Action{
			"ssn":  attrcrypt.ActionEncrypt,
			"seen": attrcrypt.ActionPlain,
		},
	})
	if err != nil {
		panic(err)
	}
	// In an application the key comes from tenantkeys.
	key := attrcrypt.Key{Ref: attrcrypt.KeyRef{Tenant: "acme", Version: 1}}
	rand.Read(key.Material[:])

	item := map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: "acme"},
		"id":     &types.AttributeValueMemberS{Value: "p-1"},
		"ssn":    &types.AttributeValueMemberS{Value: "123-45-6789"},
		"score":  &types.AttributeValueMemberN{Value: "1.50"},
	}
	sealed, err := s.Seal(item, key)
	if err != nil {
		panic(err)
	}
	_, encrypted := sealed["ssn"].(*types.AttributeValueMemberB)
	fmt.Println("ssn stored encrypted:", encrypted)

	ref, _ := s.KeyRef(sealed) // which key version to fetch
	fmt.Println("sealed under:", ref)

	opened, _, err := s.Open(sealed, key)
	if err != nil {
		panic(err)
	}
	fmt.Println("ssn:", opened["ssn"].(*types.AttributeValueMemberS).Value)

	// Any change to a signed attribute is detected.
	sealed["score"] = &types.AttributeValueMemberN{Value: "2"}
	_, _, err = s.Open(sealed, key)
	var te *attrcrypt.TamperError
	fmt.Println(errors.Is(err, attrcrypt.ErrTampered), errors.As(err, &te) && te.Reason == attrcrypt.ReasonSignature)
	// Output:
	// ssn stored encrypted: true
	// sealed under: tenant="acme" class="default" version=1
	// ssn: 123-45-6789
	// true true
}
