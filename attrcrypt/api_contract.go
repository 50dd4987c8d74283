package attrcrypt

// CONTRACT (to be replaced by the implementation, keep the exported API):
//
//	type Config struct {
//		Table           string            // logical table name bound into every signature
//		TenantAttribute string            // name of the S attribute holding the tenant id
//		Actions         map[string]Action // reader/writer actions; absent names default to ActionSign
//		// policy knobs, e.g. AllowPlaintextMigration bool
//	}
//	func NewSealer(cfg Config, opts ...Option) (*Sealer, error)   // validates: reserved names, tenant attr not encrypted...
//	func WithRandom(r io.Reader) Option                           // test vectors only
//	func (s *Sealer) Seal(item map[string]types.AttributeValue, key Key) (map[string]types.AttributeValue, error)
//	        // item[TenantAttribute] must equal key.Ref.Tenant (else ErrWrongTenant); input map not modified
//	func (s *Sealer) KeyRef(item map[string]types.AttributeValue) (KeyRef, error)
//	        // header parse only, no crypto: Tenant from the tenant attribute, Class+Version from the header
//	func (s *Sealer) Open(item map[string]types.AttributeValue, key Key) (map[string]types.AttributeValue, OpenResult, error)
//	        // ErrWrongTenant if item tenant != key.Ref.Tenant (checked first); commitment, then MAC, then decrypt
//	type OpenResult struct { ... }   // e.g. migrated / unverified attributes under a migration policy
//	type TamperError struct { Reason string; Attribute string }  // Is(ErrTampered)
//	const HeaderAttribute, SignatureAttribute = ...              // reserved short names
//	func IsReserved(name string) bool
