import { usePoll } from '../hooks.js';
import type { ImagesResponse } from '../types.js';
import { Empty, href, Time, View } from '../ui.js';

/** Images: each AMI family's current image per region, its history (rollbacks marked) and warnings. */
export function Images() {
  const polled = usePoll<ImagesResponse>('/images');
  return (
    <View title="Images" testid="view-images" polled={polled} what="images">
      {(r) => (
        <>
          {r.families.length ? (
            r.families.map((f) => (
              <section key={f.family} data-testid="image-family" aria-labelledby={`family-${f.family}`}>
                <h2 id={`family-${f.family}`}>{f.family}</h2>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Region</th>
                      <th scope="col">Parameter</th>
                      <th scope="col">Current image</th>
                      <th scope="col">Published</th>
                      <th scope="col">History (newest first)</th>
                      <th scope="col">Warnings</th>
                    </tr>
                  </thead>
                  <tbody>
                    {f.regions.map((g) => (
                      <tr key={g.region} data-testid="image-region">
                        <td>{g.region}</td>
                        <td>
                          <code>{g.parameter}</code>
                        </td>
                        <td>{g.current ? <code data-testid="current-image">{g.current.imageId}</code> : <span class="muted">none</span>}</td>
                        <td>
                          <Time at={g.current?.publishedAt} />
                        </td>
                        <td>
                          {g.history.length ? (
                            <ol class="history">
                              {[...g.history]
                                .sort((a, b) => b.publishedAt.localeCompare(a.publishedAt))
                                .map((h) => (
                                  <li key={`${h.imageId}-${h.publishedAt}`} class={h.rolledBack ? 'rolled-back' : ''}>
                                    <code>{h.imageId}</code> <Time at={h.publishedAt} />
                                    {h.rolledBack ? <span class="badge bad">rolled back</span> : null}
                                  </li>
                                ))}
                            </ol>
                          ) : (
                            <span class="muted">—</span>
                          )}
                        </td>
                        <td>
                          {g.warnings.length ? (
                            <ul class="warnings" data-testid="image-warnings">
                              {g.warnings.map((w, i) => (
                                <li key={i}>{w}</li>
                              ))}
                            </ul>
                          ) : (
                            <span class="muted">none</span>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            ))
          ) : (
            <Empty>No image family is configured.</Empty>
          )}
          <p class="next">
            Next: <a href={href('parameters')}>parameters</a>
          </p>
        </>
      )}
    </View>
  );
}
