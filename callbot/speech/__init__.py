"""Speech engines shared by every call of a process: recognition, synthesis, voice activity."""
