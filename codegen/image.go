package codegen

import (
	"bytes"
	"fmt"
)

// emitImage writes the repository's decode helper for stored images read
// outside it (stream records, exports). It is kept apart from
// emitRepository so that the two evolve without touching each other.
func (g *gen) emitImage(w *bytes.Buffer, r *rootInfo) {
	name := r.name
	fmt.Fprintf(w, "// OpenImage verifies and opens a stored image of a %s read outside the\n"+
		"// repository, such as a DynamoDB Streams record's NewImage or OldImage,\n"+
		"// under the key of the tenant the image names (table.Table.OpenImage):\n"+
		"// an admin read across tenants, like Scan. For whole stream records use\n"+
		"// streams.Open(ctx, r.Table(), record) from package table/streams.\n"+
		"func (r *%sRepository) OpenImage(ctx %s.Context, image map[string]%s.AttributeValue) (*%s, error) {\nreturn r.t.OpenImage(ctx, image)\n}\n\n",
		name, name, g.imp("context"), g.ty(), name)
}
