package difftest

import (
	"errors"
	"strconv"
)

var (
	errBadUpper = errors.New("difftest: bad Upper")
	errBadPoint = errors.New("difftest: bad Point")
)

func itoa(i int) string { return strconv.Itoa(i) }

func atoi(s string) (int, error) { return strconv.Atoi(s) }
