"""What a sweep shows: job results, summaries, pictures and live progress."""
