"""The per-call speech pipeline, built from pipecat frame processors.

caller audio -> TurnProcessor (VAD, end of turn, barge-in) -> TranscriptionProcessor
(shared Whisper) -> DialogProcessor (dialplan engine, no-input timer) -> SpeechProcessor
(shared TTS) -> LineOutput (the call's media sink: audio, marks, flush, transfer, hang-up)
"""
