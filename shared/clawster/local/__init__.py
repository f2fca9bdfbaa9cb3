"""The local stack: moto in server mode, an in-process Lambda runtime, a local API Gateway and a
local token issuer, in one process. Dev and test only: deployed functions never import this."""
