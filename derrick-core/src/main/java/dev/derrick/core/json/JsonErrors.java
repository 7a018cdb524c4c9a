package dev.derrick.core.json;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonMappingException;

import java.util.List;
import java.util.Map;

/** Pieces of a readable message for a Jackson failure: field path, line and column, expected type. */
public final class JsonErrors {
    private JsonErrors() {
    }

    /** The failing field as {@code repositories[0].auth}; empty for the root. */
    public static String path(JsonMappingException m) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : m.getPath()) {
            if (ref.getFieldName() != null) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    /** What a value of this type looks like in JSON, for "expected …". */
    public static String describe(Class<?> type) {
        if (type == String.class) {
            return "a string";
        }
        if (type == byte[].class) {
            return "a base64 string";
        }
        if (Number.class.isAssignableFrom(type) || type.isPrimitive()) {
            return "a number";
        }
        if (List.class.isAssignableFrom(type)) {
            return "an array";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "an object";
        }
        return "an object";
    }

    /** " at line L, column C", or "" when unknown. */
    public static String location(JsonLocation loc) {
        if (loc == null || loc.getLineNr() < 0) {
            return "";
        }
        return " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    /** The first line of a possibly multi-line message; "" for null. */
    public static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
