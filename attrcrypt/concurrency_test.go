package attrcrypt

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// One Sealer shared by many goroutines sealing and opening different
// tenants' items at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	s := refSealer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant := fmt.Sprintf("tenant-%04d", g)
			key := testKey(tenant, "", uint32(1+g%3))
			for i := range 200 {
				item := refItem()
				item["tenant"] = S(tenant)
				item["score"] = N(fmt.Sprint(i))
				item["tags"] = SS("x", fmt.Sprint("g", g), fmt.Sprint("i", i))
				sealed, err := s.Seal(item, key)
				if err != nil {
					errs <- err
					return
				}
				got, _, err := s.Open(sealed, key)
				if err != nil {
					errs <- err
					return
				}
				if got["score"].(*types.AttributeValueMemberN).Value != fmt.Sprint(i) ||
					got["notes"].(*types.AttributeValueMemberS).Value != item["notes"].(*types.AttributeValueMemberS).Value {
					errs <- fmt.Errorf("goroutine %d item %d: wrong content", g, i)
					return
				}
				if _, _, err := s.Open(sealed, testKey("tenant-9999", "", 1)); err == nil {
					errs <- fmt.Errorf("opened with another tenant's key")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
