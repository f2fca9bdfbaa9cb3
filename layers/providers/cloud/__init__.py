"""What the cloud targets' adapters (layers/providers/ecs.py, cloudrun.py, aci.py) share: how a gateway container
is shaped, the control plane's copy of each bot's token and config, talking to a running gateway, price tables."""
