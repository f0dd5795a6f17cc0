//! The client behind the catch-up's [`UpdatedPages`] port: the documented
//! `updated` search, paged with `search_after` (the method Akeneo advises for
//! long extractions), 100 entities a page.

use bytes::Bytes;
use futures::future::BoxFuture;
use tokio::time::Instant;

use super::{MAX_PAGE_SIZE, PRODUCT_MODELS, PRODUCTS, PimClient, PimError, refused};
use crate::core::catch_up::CatchUpEntity;
use crate::ports::pim::{PageCursor, PimReadError, UpdatedPages};

impl PimClient {
    /// One page of the entities updated in a window, or of the page a
    /// previous one linked to (which must be on the PIM's origin: the token
    /// goes with it).
    pub async fn updated_page(
        &self,
        entity: CatchUpEntity,
        cursor: PageCursor<'_>,
        deadline: Instant,
    ) -> Result<Bytes, PimError> {
        let url = match cursor {
            PageCursor::First(window) => {
                let mut url = self.connection.base().clone();
                url.set_path(match entity {
                    CatchUpEntity::Product => PRODUCTS,
                    CatchUpEntity::ProductModel => PRODUCT_MODELS,
                });
                url.query_pairs_mut()
                    .append_pair("search", &window.updated_filter())
                    .append_pair("pagination_type", "search_after")
                    .append_pair("limit", &MAX_PAGE_SIZE.to_string());
                url
            }
            PageCursor::Next(href) => self.same_origin(href)?,
        };
        let answer = self.get(&url, deadline).await?;
        if !answer.status.is_success() {
            return Err(refused(answer.status, &answer));
        }
        Ok(answer.body)
    }
}

impl UpdatedPages for PimClient {
    fn updated_page<'a>(
        &'a self,
        entity: CatchUpEntity,
        cursor: PageCursor<'a>,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Bytes, PimReadError>> {
        Box::pin(async move { Ok(PimClient::updated_page(self, entity, cursor, deadline).await?) })
    }
}
