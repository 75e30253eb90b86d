import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * Call the jupyter-nj REST API (`/nj/api/<endPoint>`) and return the parsed JSON body.
 *
 * Every server call of the lab plugin goes through here, so errors are handled one way: a network
 * failure becomes a `ServerConnection.NetworkError`, and a non-2xx answer a
 * `ServerConnection.ResponseError` carrying the server's `message`.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'nj', 'api', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the error message.
    }
  }
  if (!response.ok) {
    const message =
      typeof data === 'object' && data?.message ? data.message : String(data);
    throw new ServerConnection.ResponseError(response, message);
  }
  return data as T;
}
