package dev.derrick.server.internal.http;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A request body gathered while it arrives (the transport reads it without holding a thread), in blocks of at most
 * {@value #BLOCK} bytes so a large body is never copied to grow one array.
 */
final class BodyBuffer {
    private static final int BLOCK = 64 * 1024;
    private final List<byte[]> blocks = new ArrayList<>();
    private byte[] current;
    private int used;
    private long size;

    /** Copies what remains in {@code buffer}. */
    void append(ByteBuffer buffer) {
        while (buffer.hasRemaining()) {
            if (current == null || used == current.length) {
                if (current != null) {
                    blocks.add(current);
                }
                current = new byte[BLOCK];
                used = 0;
            }
            int n = Math.min(buffer.remaining(), current.length - used);
            buffer.get(current, used, n);
            used += n;
            size += n;
        }
    }

    long size() {
        return size;
    }

    /** The body, read once. */
    InputStream stream() {
        List<byte[]> all = new ArrayList<>(blocks);
        if (current != null) {
            byte[] last = new byte[used];
            System.arraycopy(current, 0, last, 0, used);
            all.add(last);
        }
        blocks.clear();
        current = null;
        return new InputStream() {
            private int block;
            private int pos;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                while (block < all.size() && pos == all.get(block).length) {
                    all.set(block, null);
                    block++;
                    pos = 0;
                }
                if (block == all.size()) {
                    return -1;
                }
                byte[] src = all.get(block);
                int n = Math.min(len, src.length - pos);
                System.arraycopy(src, pos, b, off, n);
                pos += n;
                return n;
            }
        };
    }
}
