"""Operations: observation, metrics, health, audit and access logs, reload, memory."""
