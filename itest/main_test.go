package itest_test

import (
	"os"
	"testing"

	"github.com/dynaseal/dynaseal/itest"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }
