package dev.derrick.api;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** The exact-string edit of {@link Workspace#editFile}, apart from any provider, so every provider edits alike. */
final class FileEdits {
    private static final int MAX_LINES_SHOWN = 10;

    private FileEdits() {
    }

    /** The file's new text; throws {@link FileEditException} for zero or several matches (without replaceAll). */
    static String apply(String path, String text, String oldText, String newText, boolean replaceAll) {
        if (oldText == null || oldText.isEmpty()) {
            throw new InvalidConfigException("edit_file: 'old_string' is empty; give the exact text to replace"
                    + " (use write_file to create or overwrite a whole file)");
        }
        if (newText == null) {
            throw new InvalidConfigException("edit_file: 'new_string' is missing (use \"\" to delete the text)");
        }
        if (oldText.equals(newText)) {
            throw new InvalidConfigException("edit_file: 'old_string' and 'new_string' are the same; nothing to change");
        }
        List<Integer> at = new ArrayList<>();
        for (int i = text.indexOf(oldText); i >= 0; i = text.indexOf(oldText, i + oldText.length())) {
            at.add(i);
        }
        if (at.isEmpty()) {
            String hint = text.contains(oldText.strip()) && !oldText.strip().isEmpty()
                    ? " (it does occur with different leading or trailing whitespace: copy it exactly)"
                    : " (read the file again and copy the text exactly, whitespace and line breaks included)";
            throw new FileEditException("edit_file: the text to replace was not found in '" + path + "'" + hint
                    + "; the file is unchanged", 0);
        }
        if (at.size() > 1 && !replaceAll) {
            List<Integer> lines = new ArrayList<>();
            for (int offset : at.subList(0, Math.min(at.size(), MAX_LINES_SHOWN))) {
                lines.add(lineOf(text, offset));
            }
            throw new FileEditException("edit_file: the text to replace occurs " + at.size() + " times in '" + path
                    + "' (at lines " + join(lines) + (at.size() > MAX_LINES_SHOWN ? ", …" : "") + "); include more "
                    + "surrounding lines to make it unique, or set replace_all to change every occurrence;"
                    + " the file is unchanged", at.size());
        }
        StringBuilder out = new StringBuilder(text.length() + (newText.length() - oldText.length()) * at.size());
        int from = 0;
        for (int i : at) {
            out.append(text, from, i).append(newText);
            from = i + oldText.length();
        }
        return out.append(text, from, text.length()).toString();
    }

    /** The bytes as UTF-8 text; a file that is not UTF-8 cannot be edited as text. */
    static String decode(String path, byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new InvalidConfigException("edit_file: '" + path + "' is not UTF-8 text; use write_file to replace"
                    + " it whole");
        }
    }

    static int count(String text, String oldText) {
        int n = 0;
        for (int i = text.indexOf(oldText); i >= 0; i = text.indexOf(oldText, i + oldText.length())) {
            n++;
        }
        return n;
    }

    private static int lineOf(String text, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    private static String join(List<Integer> values) {
        StringBuilder b = new StringBuilder();
        for (int v : values) {
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(v);
        }
        return b.toString();
    }
}
