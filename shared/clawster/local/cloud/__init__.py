"""The local stack's stand-ins for the cloud targets: their control-plane APIs (Cloud Run and Secret Manager, Azure
Resource Manager, Fargate's scheduler on moto's ECS) and the container host that runs what they schedule."""
