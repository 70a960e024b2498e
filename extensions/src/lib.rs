//! Extensions and plugin grants for grantry (PKCE, JWT bearer, JWT client authentication).
