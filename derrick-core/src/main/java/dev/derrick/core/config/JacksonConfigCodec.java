package dev.derrick.core.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.spi.ConfigCodec;
import dev.derrick.api.spi.DidYouMean;
import dev.derrick.core.json.Json;
import static dev.derrick.core.json.JsonErrors.describe;
import static dev.derrick.core.json.JsonErrors.firstLine;
import static dev.derrick.core.json.JsonErrors.location;
import static dev.derrick.core.json.JsonErrors.path;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads and writes the workspace-config JSON format with Jackson. Errors name the source, the field, and line and
 * column, e.g. {@code workspace.json: unknown field 'setup' at line 3, column 4 (did you mean 'setup_script'?)
 * (known fields: …)}; every unknown field of a document is reported at once.
 *
 * <p>The original (Rust) derrick's format reads unchanged: top-level {@code name}, {@code repositories} and
 * {@code setup_script}; per repository {@code name}, {@code url}, {@code path} (a leading {@code /} means under the
 * workspace root) and {@code reference}. A repository's {@code name} is a display name (logs, {@code info()}).
 */
public final class JacksonConfigCodec implements ConfigCodec {

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    record ConfigJson(@JsonProperty(required = true) String name,
                      List<RepositoryJson> repositories,
                      String setupScript,
                      Map<String, String> env,
                      String image,
                      String updateScript,
                      List<String> cacheKeyFiles,
                      JsonNode network) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record RepositoryJson(String name, String url, String path, String reference, AuthJson auth) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record AuthJson(String tokenEnv, String token, String username) {
    }

    @Override
    public WorkspaceConfig read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new InvalidConfigException("workspace config file not found: " + file);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new InvalidConfigException("workspace config file " + file + " is not valid UTF-8", e);
        } catch (IOException e) {
            throw new InvalidConfigException("cannot read workspace config file " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    @Override
    public WorkspaceConfig parse(String json, String source) {
        String where = source == null ? "workspace config" : source;
        if (json == null || json.isBlank()) {
            throw new InvalidConfigException(where + ": empty; expected a JSON object with at least 'name'");
        }
        ConfigJson parsed;
        UnknownFields unknown = new UnknownFields();
        try {
            parsed = Json.mapper().readerFor(ConfigJson.class).withHandler(unknown).readValue(json);
        } catch (JsonProcessingException e) {
            throw translate(where, e);
        }
        if (!unknown.isEmpty()) {
            throw new InvalidConfigException(unknown.message(where, json));
        }
        if (parsed == null) {
            throw new InvalidConfigException(where + ": expected a JSON object, got null");
        }
        try {
            return toConfig(parsed);
        } catch (InvalidConfigException e) {
            throw new InvalidConfigException(where + ": " + e.getMessage(), e);
        }
    }

    /** Builds the API value from the parsed JSON; validation happens in the records' constructors. */
    static WorkspaceConfig toConfig(ConfigJson parsed) {
        List<RepositoryConfig> repos = new ArrayList<>();
        if (parsed.repositories() != null) {
            int i = 0;
            for (RepositoryJson r : parsed.repositories()) {
                if (r == null) {
                    throw new InvalidConfigException("repositories[" + i + "] is null");
                }
                GitAuth auth = r.auth() == null ? null : new GitAuth(r.auth().tokenEnv(), r.auth().token(), r.auth().username());
                try {
                    repos.add(new RepositoryConfig(r.url(), r.path(), r.reference(), auth, r.name()));
                } catch (InvalidConfigException e) {
                    throw new InvalidConfigException("repositories[" + i + "]: " + e.getMessage(), e);
                }
                i++;
            }
        }
        return new WorkspaceConfig(parsed.name(), repos, parsed.setupScript(), parsed.env(), parsed.image(),
                parsed.updateScript(), parsed.cacheKeyFiles(), network(parsed.network()));
    }

    private static final String NETWORK_FORMS = "\"on\", \"off\" or {\"setup\": \"on\"|\"off\", \"commands\": \"on\"|\"off\"}";

    /** {@code "on"}, {@code "off"} or {@code {"setup": …, "commands": …}} (a phase left out is "on"); absent is "on". */
    static NetworkPolicy network(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return NetworkPolicy.ON;
        }
        if (node.isTextual()) {
            if (!node.asText().trim().matches("(?i)on|off")) {
                throw new InvalidConfigException("field 'network' must be " + NETWORK_FORMS + ", got \"" + node.asText() + "\"");
            }
            boolean on = NetworkPolicy.parseSwitch(node.asText(), "network");
            return new NetworkPolicy(on, on);
        }
        if (!node.isObject()) {
            throw new InvalidConfigException("field 'network' must be " + NETWORK_FORMS + ", got " + node);
        }
        List<String> unknown = new ArrayList<>();
        node.fieldNames().forEachRemaining(f -> {
            if (!f.equals("setup") && !f.equals("commands")) {
                unknown.add("'" + f + "'" + DidYouMean.hint(f, List.of("setup", "commands")));
            }
        });
        if (!unknown.isEmpty()) {
            throw new InvalidConfigException("unknown field" + (unknown.size() == 1 ? " " : "s ") + String.join("; ", unknown)
                    + " in network (known fields of 'network': commands, setup)");
        }
        return new NetworkPolicy(phase(node, "setup"), phase(node, "commands"));
    }

    private static boolean phase(JsonNode object, String name) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            return true;
        }
        if (!value.isTextual()) {
            throw new InvalidConfigException("field 'network." + name + "' must be \"on\" or \"off\", got " + value);
        }
        return NetworkPolicy.parseSwitch(value.asText(), "network." + name);
    }

    /** The JSON form of a policy; {@code null} (left out) for the default. */
    static JsonNode networkJson(NetworkPolicy network) {
        if (network == null || network.equals(NetworkPolicy.ON)) {
            return null;
        }
        if (network.uniform()) {
            return JsonNodeFactory.instance.textNode(NetworkPolicy.switchName(network.setup()));
        }
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("setup", NetworkPolicy.switchName(network.setup()));
        node.put("commands", NetworkPolicy.switchName(network.commands()));
        return node;
    }

    @Override
    public String toJson(WorkspaceConfig config) {
        List<RepositoryJson> repos = config.repositories().stream().map(r -> new RepositoryJson(r.name(), r.url(), r.path(),
                r.reference(), r.auth() == null ? null
                        : new AuthJson(r.auth().tokenEnv(), r.auth().token(), r.auth().username())))
                .collect(Collectors.toList());
        try {
            return Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(new ConfigJson(config.name(), repos,
                    config.setupScript(), config.env(), config.image(), config.updateScript(), config.cacheKeyFiles(),
                    networkJson(config.network())));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write workspace config as JSON", e);
        }
    }

    /**
     * Collects every unknown field of a document (instead of stopping at the first) with where it is and the closest
     * known name, so one error lists them all: {@code unknown field 'refrence' in repositories[0] at line 4, column
     * 20 (did you mean 'reference'?)}.
     */
    static final class UnknownFields extends DeserializationProblemHandler {
        /** Parent path and field name of each unknown field, in the order Jackson met them. */
        private final List<String[]> found = new ArrayList<>();
        /** Known field names per kind of object ({@code repositories[].auth}), for the message's last part. */
        private final Map<String, java.util.Set<String>> known = new java.util.TreeMap<>();

        @Override
        public boolean handleUnknownProperty(DeserializationContext ctxt, JsonParser p, JsonDeserializer<?> deserializer,
                                             Object beanOrClass, String propertyName) throws IOException {
            List<String> names = new ArrayList<>();
            if (deserializer != null && deserializer.getKnownPropertyNames() != null) {
                deserializer.getKnownPropertyNames().forEach(n -> names.add(String.valueOf(n)));
            }
            String parent = parentPath(p);
            known.computeIfAbsent(parent.replaceAll("\\[\\d+]", "[]"), k -> new java.util.TreeSet<>()).addAll(names);
            found.add(new String[]{parent, propertyName, DidYouMean.hint(propertyName, names)});
            p.skipChildren();
            return true;
        }

        boolean isEmpty() {
            return found.isEmpty();
        }

        /**
         * One line naming every unknown field in document order, with line and column: a record's fields reach
         * Jackson's handler from a buffer that has no locations, so they are looked up in a second, streaming pass.
         */
        String message(String where, String json) {
            Map<String, JsonLocation> locations = fieldLocations(json);
            List<String[]> sorted = new ArrayList<>(found);
            java.util.Comparator<String[]> byLocation = java.util.Comparator.comparingLong(
                    f -> locations.containsKey(f[0] + "/" + f[1]) ? locations.get(f[0] + "/" + f[1]).getCharOffset() : Long.MAX_VALUE);
            sorted.sort(byLocation);
            List<String> parts = new ArrayList<>();
            for (String[] f : sorted) {
                parts.add("'" + f[1] + "'" + (f[0].isEmpty() ? "" : " in " + f[0]) + location(locations.get(f[0] + "/" + f[1]))
                        + f[2]);
            }
            List<String> knownParts = new ArrayList<>();
            known.forEach((kind, names) -> knownParts.add((known.size() == 1 ? "" : (kind.isEmpty() ? "top level" : kind) + ": ")
                    + String.join(", ", names)));
            return where + ": unknown field" + (parts.size() == 1 ? " " : "s ") + String.join("; ", parts)
                    + " (known fields: " + String.join("; ", knownParts) + ")";
        }

        /** {@code parentPath/fieldName} → where the field name starts, for every field of the document. */
        private static Map<String, JsonLocation> fieldLocations(String json) {
            Map<String, JsonLocation> out = new java.util.HashMap<>();
            try (JsonParser p = Json.mapper().getFactory().createParser(json)) {
                for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                    if (t == JsonToken.FIELD_NAME) {
                        out.putIfAbsent(path(p.getParsingContext().getParent()) + "/" + p.currentName(), p.currentTokenLocation());
                    }
                }
            } catch (IOException e) {
                // malformed after the part Jackson read: the locations found so far are what there is
            }
            return out;
        }

        /** {@code repositories[0].auth} for a field of that object; empty at the top level. */
        private static String parentPath(JsonParser p) {
            JsonStreamContext context = p.getParsingContext();
            if (p.currentToken() == JsonToken.START_OBJECT || p.currentToken() == JsonToken.START_ARRAY) {
                context = context.getParent(); // pointing at an object or array value: its own context is open
            }
            return path(context == null ? null : context.getParent());
        }

        /** The path of a container context, from the root: {@code repositories[0].auth}. */
        private static String path(JsonStreamContext container) {
            StringBuilder path = new StringBuilder();
            for (JsonStreamContext c = container; c != null && !c.inRoot(); c = c.getParent()) {
                if (c.inArray()) {
                    path.insert(0, "[" + c.getCurrentIndex() + "]");
                } else if (c.getCurrentName() != null) {
                    path.insert(0, (c.getParent() != null && !c.getParent().inRoot() ? "." : "") + c.getCurrentName());
                }
            }
            return path.toString();
        }
    }

    /** Turns a Jackson failure into one line a person can act on. */
    static InvalidConfigException translate(String where, JsonProcessingException e) {
        String at = location(e.getLocation());
        if (e instanceof UnrecognizedPropertyException u) {
            String known = u.getKnownPropertyIds() == null ? "" : u.getKnownPropertyIds().stream()
                    .map(Object::toString).sorted().collect(Collectors.joining(", "));
            return new InvalidConfigException(where + ": unknown field '" + u.getPropertyName() + "'" + in(u) + at
                    + (known.isEmpty() ? "" : " (known fields: " + known + ")"));
        }
        if (e instanceof ValueInstantiationException v && v.getCause() instanceof InvalidConfigException cause) {
            return new InvalidConfigException(where + ": " + prefix(v) + cause.getMessage() + at, cause);
        }
        if (e instanceof MismatchedInputException t && String.valueOf(t.getOriginalMessage()).startsWith("Trailing token")) {
            return new InvalidConfigException(where + ": malformed JSON" + at + ": something follows the JSON object;"
                    + " a config file holds one object and nothing after it");
        }
        if (e instanceof MismatchedInputException m) {
            String field = path(m);
            String msg = m.getOriginalMessage();
            if (msg != null && msg.startsWith("Missing required creator property")) {
                return new InvalidConfigException(where + ": required field '" + field + "' is missing" + at);
            }
            String expected = m.getTargetType() == null ? "another type" : describe(m.getTargetType());
            return new InvalidConfigException(where + ": field '" + (field.isEmpty() ? "(root)" : field)
                    + "' has the wrong type" + at + "; expected " + expected);
        }
        if (e instanceof JsonMappingException m && !(m.getCause() instanceof com.fasterxml.jackson.core.exc.StreamReadException)
                && !m.getOriginalMessage().startsWith("Unexpected character")) {
            return new InvalidConfigException(where + ": invalid value" + in(m) + at + ": " + m.getOriginalMessage());
        }
        String original = e.getOriginalMessage();
        return new InvalidConfigException(where + ": malformed JSON" + at + ": " + firstLine(original));
    }

    private static String prefix(JsonMappingException m) {
        String path = path(m);
        int dot = path.lastIndexOf('.');
        String parent = dot < 0 ? "" : path.substring(0, dot);
        return parent.isEmpty() ? "" : parent + ": ";
    }

    private static String in(JsonMappingException m) {
        String path = path(m);
        int dot = path.lastIndexOf('.');
        String parent = dot < 0 ? "" : path.substring(0, dot);
        return parent.isEmpty() ? "" : " in " + parent;
    }

}
