use cb_runtime::CircuitProtected;

#[derive(Debug, Clone, Copy)]
struct TenantId(u64);

#[derive(CircuitProtected)]
#[circuit_breaker(name = "tenants")]
struct Tenant {
    #[circuit_breaker(key)]
    id: TenantId,
}

fn main() {}
