"""berth local AWS stand-in: moto in-process, an ECS rollout simulator, Lambda and CloudWatch-CBOR routes."""
