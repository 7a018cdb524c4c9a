package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.PullResponseItem;
import dev.derrick.api.DerrickException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.ProgressListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** Images a workspace starts from: present in the engine, or pulled when option {@code pull} allows. */
final class Images {
    private static final Logger LOG = LoggerFactory.getLogger(Images.class);

    private final DockerClient client;
    private final DockerSettings settings;
    private final DockerEngine engine;

    Images(DockerEngine engine, DockerSettings settings) {
        this.client = engine.client();
        this.settings = settings;
        this.engine = engine;
    }

    /** Makes sure {@code image} is in the engine, pulling it (progress task {@code pull <image>}) when it is not. */
    void ensure(String image, ProgressListener listener) {
        try {
            client.inspectImageCmd(image).exec();
            return;
        } catch (NotFoundException e) {
            // pull below
        }
        if (!settings.pull()) {
            throw new InvalidConfigException("image '" + image + "' is not in the Docker engine at " + engine.address()
                    + " and pulling is off (option 'pull')");
        }
        listener.beginTask("pull " + image, ProgressListener.UNKNOWN);
        LOG.info("pulling image {}", image);
        String[] ref = splitImage(image);
        try {
            var pull = client.pullImageCmd(ref[0]);
            if (ref[1] != null) {
                pull.withTag(ref[1]);
            }
            PullCallback callback = pull.exec(new PullCallback());
            if (!callback.awaitCompletion(30, TimeUnit.MINUTES)) {
                callback.close();
                throw new InvalidConfigException("pulling image '" + image + "' took more than 30 minutes");
            }
            if (callback.error != null) {
                throw new DerrickException(DockerEngine.reason(callback.error), callback.error);
            }
            client.inspectImageCmd(image).exec();
        } catch (IOException e) {
            throw new InvalidConfigException("pulling image '" + image + "' failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while pulling image '" + image + "'");
        } catch (RuntimeException e) {
            if (e instanceof InvalidConfigException i) {
                throw i;
            }
            throw new InvalidConfigException("image '" + image + "' is not in the Docker engine at " + engine.address()
                    + " and could not be pulled: " + DockerWorkspace.firstLine(DockerEngine.reason(e)), e);
        } finally {
            listener.endTask();
        }
    }

    /** Whether an image (by id or name) is in the engine. */
    boolean exists(String image) {
        try {
            client.inspectImageCmd(image).exec();
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    /** Records a pull's error instead of logging it; the caller turns it into one clear exception. */
    private static final class PullCallback extends ResultCallback.Adapter<PullResponseItem> {
        private volatile Throwable error;

        @Override
        public void onError(Throwable throwable) {
            error = throwable;
            try {
                close();
            } catch (IOException ignored) {
                // already failing
            }
        }
    }

    /** "repo:tag" → {repo, tag}; a digest stays in the repository part; no tag → "latest". */
    static String[] splitImage(String image) {
        if (image.contains("@")) {
            return new String[] {image, null};
        }
        int slash = image.lastIndexOf('/');
        int colon = image.lastIndexOf(':');
        if (colon > slash) {
            return new String[] {image.substring(0, colon), image.substring(colon + 1)};
        }
        return new String[] {image, "latest"};
    }
}
