package dev.derrick.core.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
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
 * column, e.g. {@code workspace.json: unknown field 'setup' at line 3, column 4 (known: name, repositories, …)}.
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
    record RepositoryJson(String url, String path, String reference, AuthJson auth) {
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
        try {
            parsed = Json.mapper().readValue(json, ConfigJson.class);
        } catch (JsonProcessingException e) {
            throw translate(where, e);
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
                    repos.add(new RepositoryConfig(r.url(), r.path(), r.reference(), auth));
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
                unknown.add("network." + f);
            }
        });
        if (!unknown.isEmpty()) {
            throw new InvalidConfigException("unknown field(s) " + unknown + " (known fields of 'network': commands, setup)");
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
        List<RepositoryJson> repos = config.repositories().stream().map(r -> new RepositoryJson(r.url(), r.path(),
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
