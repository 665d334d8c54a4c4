"""Audio formats, codecs and resampling: everything inside callbot sees 16 kHz int16 PCM."""
