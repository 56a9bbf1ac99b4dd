"""The ecs target: the compose services on ECS Fargate."""
