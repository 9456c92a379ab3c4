"""Speech output: voices, synthesis with pyttsx3 on espeak-ng, speakers and voice settings."""
