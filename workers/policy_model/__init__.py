"""The tiny policy the project builds itself: corpus, tokenizer, Qwen2 model, warm start."""
