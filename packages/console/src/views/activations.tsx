import { useLocation } from 'preact-iso';
import { useMore, usePoll } from '../hooks.js';
import { pageSize, toQuery } from '../query.js';
import type { ActivationsResponse } from '../types.js';
import { Empty, href, MoreButton, Time, View } from '../ui.js';

const issuancesOf = (r: ActivationsResponse) => ({ items: r.issuances, nextToken: r.issuancesNextToken });
const issuanceKey = (i: ActivationsResponse['issuances'][number]) => i.activationId;

/** Activations: enrolment tokens (never their secret), the activations issued, nodes registered, failed boots. */
export function Activations() {
  const path = `/activations${toQuery({}, { limit: pageSize(useLocation().query.limit) })}`;
  const polled = usePoll<ActivationsResponse>(path);
  const issuances = useMore(path, polled.data, issuancesOf, issuanceKey);
  return (
    <View title="Activations" testid="view-activations" polled={polled} what="activations">
      {(r) => (
        <>
          <div class="cards">
            <div class="card" data-testid="nodes-registered">
              <span class="label">Nodes registered</span>
              <span class="value">{r.nodesRegistered}</span>
            </div>
            <div class="card">
              <span class="label">Failed boots</span>
              <span class="value">{r.failedBoots.length}</span>
            </div>
          </div>
          <h2>Tokens</h2>
          {r.tokens.length ? (
            <table data-testid="tokens">
              <thead>
                <tr>
                  <th scope="col">Token</th>
                  <th scope="col">Name</th>
                  <th scope="col">Uses</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Revoked</th>
                  <th scope="col">Name prefix</th>
                </tr>
              </thead>
              <tbody>
                {r.tokens.map((t) => (
                  <tr key={t.id} data-testid="token-row">
                    <td>
                      <code>{t.id}</code>
                    </td>
                    <td>{t.name}</td>
                    <td class="num">
                      {t.uses} / {t.maxUses}
                    </td>
                    <td>
                      <Time at={t.expiresAt} />
                    </td>
                    <td>{t.revokedAt ? <Time at={t.revokedAt} /> : 'no'}</td>
                    <td>{t.namePrefix ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No token issued.</Empty>
          )}
          <h2>Issuances</h2>
          {issuances.items.length ? (
            <table data-testid="issuances">
              <thead>
                <tr>
                  <th scope="col">Activation</th>
                  <th scope="col">Token</th>
                  <th scope="col">Hostname</th>
                  <th scope="col">Issued</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Managed node</th>
                  <th scope="col">Registered</th>
                  <th scope="col">Deleted</th>
                </tr>
              </thead>
              <tbody>
                {issuances.items.map((i) => (
                  <tr key={i.activationId} data-testid="issuance-row">
                    <td>
                      <code>{i.activationId}</code>
                    </td>
                    <td>
                      <code>{i.tokenId}</code>
                    </td>
                    <td>{i.hostname}</td>
                    <td>
                      <Time at={i.issuedAt} />
                    </td>
                    <td>
                      <Time at={i.expiresAt} />
                    </td>
                    <td>{i.managedNodeId ? <code>{i.managedNodeId}</code> : <span class="muted">not yet</span>}</td>
                    <td>
                      <Time at={i.registeredAt} />
                    </td>
                    <td>
                      <Time at={i.deletedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No activation issued.</Empty>
          )}
          <MoreButton list={issuances} what="issuances" />
          <h2>Failed boots</h2>
          {r.failedBoots.length ? (
            <table data-testid="failed-boots">
              <thead>
                <tr>
                  <th scope="col">At</th>
                  <th scope="col">Source IP</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {r.failedBoots.map((b, i) => (
                  <tr key={i}>
                    <td>
                      <Time at={b.at} />
                    </td>
                    <td>{b.sourceIp}</td>
                    <td class="err">{b.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No failed boot.</Empty>
          )}
          <p class="next">
            Next: <a href={href('')}>now</a>
          </p>
        </>
      )}
    </View>
  );
}
