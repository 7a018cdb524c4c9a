package dev.derrick.core.process;

/**
 * Text that keeps its last {@code cap} characters and counts every character ever appended, so that an offset
 * into everything written stays meaningful after the start is dropped. Not thread-safe.
 */
final class TailBuffer {
    record Slice(String text, long offset, long next) {
    }

    private final int cap;
    private final StringBuilder text = new StringBuilder();
    private long start; // offset of text's first character

    TailBuffer(int cap) {
        this.cap = cap;
    }

    void append(String chunk) {
        text.append(chunk);
        int over = text.length() - cap;
        if (over > 0) {
            // drop a bit more than needed so that appending does not shift the whole buffer every time
            int cut = Math.min(text.length(), over + cap / 8);
            text.delete(0, cut);
            start += cut;
        }
    }

    /** Everything kept from {@code offset} on (from the oldest kept when {@code offset} was dropped). */
    Slice from(long offset) {
        long end = start + text.length();
        long from = Math.max(start, Math.min(Math.max(0, offset), end));
        return new Slice(text.substring((int) (from - start)), from, end);
    }

    String all() {
        return text.toString();
    }

    long dropped() {
        return start;
    }
}
