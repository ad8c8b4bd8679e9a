package ui

import "fmt"

// Count is n and the singular or plural words after it: "1 image",
// "2 images".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
